"""The smoke against a remote engine, for real: a second engine in a network
namespace, whose published ports are not this machine's. The smoke finds it from
DOCKER_HOST, probes its address, stops early on a loopback bind, checks ports on
its host, says "unreachable from the smoke" when it cannot reach a healthy chat,
and builds, keeps, logs and tears down there."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from tests.conftest import UNDER_CI, image, leftovers
from tests.integration.faultkit import one_line_error, run_fault, start_fault
from tests.integration.remote_engine import (
    RemoteEngine,
    base_images,
    missing_prerequisites,
    second_engine,
)
from tests.integration.smoke_cli import nox, smoke
from tests.integration.test_reaper import kill_mid_run

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


@pytest.fixture(scope="module")
def remote(lite_images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteEngine]:
    problem = missing_prerequisites()
    if problem:
        if UNDER_CI:
            pytest.fail(f"{problem} (CI runs as root: see .ci/run)")
        pytest.skip(problem)
    images = [image("web"), *base_images()]
    with second_engine(images, tmp_path_factory.mktemp("remote")) as engine:
        yield engine


def left_on(host: str | None, project: str) -> list[str]:
    """What the project still has on the engine at ``host``; the run marks aside."""
    return leftovers(project, host=host, marks=False)


def assert_nothing_left(remote: RemoteEngine, project: str) -> None:
    assert left_on(remote.host, project) == []
    assert left_on(None, project) == []


def test_smoke_lite_builds_and_passes_on_the_remote_engine(
    remote: RemoteEngine, project: str
) -> None:
    env = remote.env(SMOKE_BIND_ADDRESS="0.0.0.0")
    result = nox("smoke_lite", "--project", project, env=env)
    assert result.returncode == 0, result.output
    assert "✓ compose up" in result.output
    assert "PASS  smoke lite" in result.output
    assert_nothing_left(remote, project)


def test_keep_then_logs_then_teardown_on_the_remote_engine(
    remote: RemoteEngine, project: str, tmp_path: Path
) -> None:
    env = remote.env(SMOKE_BIND_ADDRESS="0.0.0.0")
    kept = nox("smoke_lite", "--keep-stack", "--project", project, env=env)
    try:
        assert kept.returncode == 0, kept.output
        assert len([i for i in left_on(remote.host, project) if i.startswith("container")]) == 3
        assert left_on(None, project) == []  # nothing on this machine's engine
        log_file = tmp_path / "remote.log"
        logs = nox("logs", "--project", project, "--output", str(log_file), env=env)
        assert logs.returncode == 0, logs.output
        assert "chat-1" in log_file.read_text()
    finally:
        down = nox("teardown", "--project", project, env=env)
    assert down.returncode == 0, down.output
    assert "removed 3 containers" in down.output
    assert_nothing_left(remote, project)


def test_a_loopback_bind_on_a_remote_engine_stops_before_anything_starts(
    remote: RemoteEngine, project: str
) -> None:
    result = smoke("run", "--profile", "lite", "--project", project, env=remote.env())
    assert result.returncode == 2, result.output
    line = one_line_error(result)
    assert f"remote engine {remote.host}" in line
    assert "SMOKE_BIND_ADDRESS" in line
    assert "SMOKE_HOST" in line
    assert_nothing_left(remote, project)


def test_a_wrong_smoke_host_is_unreachable_not_a_chat_crash(
    remote: RemoteEngine, project: str, tmp_path: Path
) -> None:
    run = run_fault(
        project,
        tmp_path,
        args=("--timeout", "60"),
        **remote.env(SMOKE_BIND_ADDRESS="0.0.0.0", SMOKE_HOST="127.0.0.1"),
    )
    assert run.returncode == 1, run.output
    assert "✗ chat health" in run.output
    assert "failure class: unreachable from the smoke" in run.output
    assert "chat is running and healthy in the engine" in run.output
    assert "cannot reach it at 127.0.0.1:" in run.output
    assert "crashing" not in run.output
    assert_nothing_left(remote, project)


def test_faults_and_the_port_check_follow_the_engine(
    remote: RemoteEngine, project: str, tmp_path: Path
) -> None:
    env = remote.env(SMOKE_BIND_ADDRESS="0.0.0.0")
    crashed = run_fault(project, tmp_path, "chat-exits", args=("--timeout", "60"), **env)
    assert crashed.returncode == 1, crashed.output
    assert "chat exited with code 3" in crashed.output
    assert crashed.seconds < 30
    assert_nothing_left(remote, project)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    holder = DockerClient(host=remote.host).run(
        image("web"), detach=True, publish=[(f"0.0.0.0:{port}", 3000)], remove=True
    )
    try:
        wait_until_it_accepts(remote.address, port)  # taken means something answers there
        taken = run_fault(project, tmp_path, **env, SMOKE_WEB_PORT=str(port))
    finally:
        holder.remove(force=True)
    assert taken.returncode == 2, taken.output
    assert f"port {remote.address}:{port} for web is already in use" in taken.output
    assert_nothing_left(remote, project)


def wait_until_it_accepts(host: str, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_reaper_follows_the_engine(remote: RemoteEngine, project: str, tmp_path: Path) -> None:

    env = remote.env(SMOKE_BIND_ADDRESS="0.0.0.0")
    process = start_fault(project, tmp_path, new_session=True, **env)
    kill_mid_run(process, group=False)
    deadline = time.monotonic() + 15
    left = left_on(remote.host, project)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = left_on(remote.host, project)
    assert left == [], f"left on the remote engine 15 s after kill -9: {left}"
    assert left_on(None, project) == []


def test_spans_come_back_through_the_logs_from_a_remote_engine(
    remote: RemoteEngine, project: str, tmp_path: Path
) -> None:
    """The remote engine's containers cannot reach this process: web and chat write
    their spans as JSON lines in their logs, and the smoke reads them from there."""
    run = run_fault(project, tmp_path, **remote.env(SMOKE_BIND_ADDRESS="0.0.0.0"))
    assert run.returncode == 0, run.output
    assert "smoke: trace: spans from the services' logs" in run.output
    traces: dict[str, set[str]] = {}
    for resource in json.loads((tmp_path / "e2e-trace.json").read_text())["resourceSpans"]:
        service = resource["resource"]["attributes"][0]["value"]["stringValue"]
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                traces.setdefault(span["traceId"], set()).add(service)
    assert any({"smoke", "web", "chat"} <= services for services in traces.values()), traces
    assert_nothing_left(remote, project)
