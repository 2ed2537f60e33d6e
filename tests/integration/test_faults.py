"""The fault matrix, for real: each fault is injected from outside the services
(compose overrides, stopped containers, signals), and every time the run must name
the right step and failure class, exit with the right status, write
e2e-compose.log with the relevant service's lines, and leave nothing behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, leftovers

pytestmark = pytest.mark.docker

PASSWORD = f"pw-{uuid.uuid4().hex}"  # a fresh secret per session, to look for


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    log: str

    @property
    def everything(self) -> str:
        return self.output + self.log


def smoke_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SMOKE_WEB_PORT": "0",
        "SMOKE_CHAT_PORT": "0",
        "POSTGRES_PASSWORD": PASSWORD,
        **extra,
    }
    for name in ("NOX_CURRENT_SESSION", "KEEP_STACK", "CHAT_INSTALL_LOCAL_STACK"):
        env.pop(name, None)
    return env


def command(project: str, tmp_path: Path, *overrides: str, args: tuple[str, ...] = ()) -> list[str]:
    files = ["--compose-file", "docker-compose.yml"]
    for name in overrides:
        files += ["--compose-file", f"tests/compose/{name}.yml"]
    return [
        sys.executable,
        "-m",
        "smoke",
        "run",
        "--profile",
        "lite",
        "--no-build",
        "--project",
        project,
        "--log-file",
        str(tmp_path / "e2e-compose.log"),
        "--metrics-file",
        str(tmp_path / "e2e-metrics.txt"),
        "--junit-xml",
        str(tmp_path / "e2e-junit.xml"),
        *files,
        *args,
    ]


def run_fault(
    project: str, tmp_path: Path, *overrides: str, args: tuple[str, ...] = (), **env: str
) -> Run:
    completed = subprocess.run(
        command(project, tmp_path, *overrides, args=args),
        cwd=ROOT,
        env=smoke_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log_file = tmp_path / "e2e-compose.log"
    return Run(
        completed.returncode,
        completed.stdout + completed.stderr,
        log_file.read_text() if log_file.exists() else "",
    )


def assert_secrets_masked(tmp_path: Path, run: Run) -> None:
    for name in ("e2e-metrics.txt", "e2e-junit.xml"):
        path = tmp_path / name
        if path.exists():
            assert PASSWORD not in path.read_text(), name
    assert PASSWORD not in run.everything


@pytest.fixture(scope="module", autouse=True)
def images_built() -> None:
    """The matrix runs with --no-build; build once, for real, first."""
    result = subprocess.run(
        [sys.executable, "-m", "smoke", "build"],
        cwd=ROOT,
        env=smoke_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- checks that fail --------------------------------------------------------------

CHECK_FAULTS = [
    pytest.param(
        ("db-down",),
        {},
        "chat dependency health (db)",
        "chat dependency health (db)",
        "db-1",
        id="db-stopped",
    ),
    pytest.param(
        ("db-broken",), {}, "compose up", "compose failure", "db-1", id="db-never-healthy"
    ),
    pytest.param(
        ("chat-crashloop",),
        {},
        "chat health",
        "chat health timeout",
        "chat: fatal: cannot load model",
        id="chat-crash-loop",
    ),
    pytest.param(
        ("chat-drift",),
        {"FAULT_MODE": "status-500"},
        "web -> chat proxy call",
        "web -> chat proxy call non-200",
        "chat-1",
        id="chat-500",
    ),
    pytest.param(
        ("web-wrong-chat",),
        {},
        "web -> chat proxy call",
        "web -> chat proxy call non-200",
        "web-1",
        id="web-wrong-chat-address",
    ),
    pytest.param(
        ("chat-drift",),
        {"FAULT_MODE": "renamed"},
        "response contract",
        "response contract drift",
        "chat-1",
        id="drift-renamed",
    ),
    pytest.param(
        ("chat-drift",),
        {"FAULT_MODE": "not-string"},
        "response contract",
        "response contract drift",
        "chat-1",
        id="drift-not-string",
    ),
    pytest.param(
        ("chat-drift",),
        {"FAULT_MODE": "not-json"},
        "response contract",
        "response contract drift",
        "chat-1",
        id="drift-not-json",
    ),
    pytest.param(
        ("chat-drift",),
        {"FAULT_MODE": "empty"},
        "response contract",
        "response contract drift",
        "chat-1",
        id="drift-empty",
    ),
    pytest.param(
        ("chat-drift",),
        {"FAULT_MODE": "slow", "FAULT_DELAY": "30"},
        "web -> chat proxy call",
        "web -> chat proxy call non-200",
        "chat-1",
        id="chat-slower-than-timeout",
    ),
]


@pytest.mark.parametrize(("overrides", "env", "step", "failure_class", "log_line"), CHECK_FAULTS)
def test_fault_is_named_logged_and_cleaned(
    clean_project: str,
    tmp_path: Path,
    overrides: tuple[str, ...],
    env: dict[str, str],
    step: str,
    failure_class: str,
    log_line: str,
) -> None:
    started = time.monotonic()
    run = run_fault(clean_project, tmp_path, *overrides, args=("--timeout", "4"), **env)
    assert run.returncode == 1, run.output
    assert f"✗ {step}" in run.output
    assert f"failure class: {failure_class}" in run.output
    assert f"FAIL  smoke lite: {step} failed" in run.output
    assert "✓ teardown" in run.output
    assert log_line in run.log, run.log
    metrics = (tmp_path / "e2e-metrics.txt").read_text().splitlines()
    assert "result=failed" in metrics
    assert f"failure_class={failure_class}" in metrics
    assert_secrets_masked(tmp_path, run)
    assert leftovers(clean_project) == []
    assert time.monotonic() - started < 120  # bounded: nothing waited for ever


def test_fault_details_are_shown(clean_project: str, tmp_path: Path) -> None:
    """What was seen travels with the failure: compose's own stderr, status and body."""
    broken = run_fault(clean_project, tmp_path, "db-broken", args=("--timeout", "4"))
    assert "compose said:" in broken.output
    assert "exited (1)" in broken.output  # compose's words, kept as it said them
    assert 'unrecognized configuration parameter "no_such_setting"' in broken.log

    status_500 = run_fault(
        clean_project, tmp_path, "chat-drift", args=("--timeout", "4"), FAULT_MODE="status-500"
    )
    assert "web answered HTTP 500" in status_500.output
    assert "upstream exploded" in status_500.output

    wrong = run_fault(clean_project, tmp_path, "web-wrong-chat", args=("--timeout", "4"))
    assert "web answered HTTP 502" in wrong.output
    assert "chat unreachable at http://chat:9" in wrong.output

    slow = run_fault(
        clean_project,
        tmp_path,
        "chat-drift",
        args=("--timeout", "3"),
        FAULT_MODE="slow",
        FAULT_DELAY="30",
    )
    assert re.search(r"timed out after 3\.\d+s \(timeout 3s\)", slow.output), slow.output
    assert leftovers(clean_project) == []


def test_password_is_masked_everywhere(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, "db-leaks-password")
    assert run.returncode == 0, run.output
    assert "leaking POSTGRES_PASSWORD=****" in run.log
    assert_secrets_masked(tmp_path, run)


# -- interrupts ----------------------------------------------------------------------

# (fault overrides, env, what to see on the output before signalling)
PHASES = {
    "up": (("db-never-healthy",), {}, None),
    "chat health wait": (("chat-crashloop",), {}, "✓ compose up"),
    "dependency wait": (("db-down",), {}, "✓ chat health"),
    "proxy call": (
        ("chat-drift",),
        {"FAULT_MODE": "slow", "FAULT_DELAY": "60"},
        "✓ chat dependency health",
    ),
}


def wait_for_containers(project: str, deadline: float) -> None:
    while not any(item.startswith("container") for item in leftovers(project)):
        assert time.monotonic() < deadline, "up never created a container"
        time.sleep(0.2)


@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize(
    ("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_signal_tears_down_then_exits(
    clean_project: str, tmp_path: Path, phase: str, sig: int, status: int
) -> None:
    overrides, env, marker = PHASES[phase]
    process = subprocess.Popen(
        command(clean_project, tmp_path, *overrides, args=("--timeout", "60")),
        cwd=ROOT,
        env=smoke_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    seen: list[str] = []
    if marker is None:
        wait_for_containers(clean_project, deadline)
    else:
        for line in process.stdout:  # ends when the marker shows or the process ends
            seen.append(line)
            if marker in line:
                break
        assert any(marker in line for line in seen), "".join(seen)
    time.sleep(1.0)  # well inside the phase: each one waits 60 s
    process.send_signal(sig)
    rest, _ = process.communicate(timeout=60)
    output = "".join(seen) + rest
    assert process.returncode == status, output
    assert "✓ teardown" in output
    assert f"interrupted by {signal.Signals(sig).name}" in output
    assert (tmp_path / "e2e-compose.log").exists()
    assert "result=interrupted" in (tmp_path / "e2e-metrics.txt").read_text().splitlines()
    assert leftovers(clean_project) == []


# -- engine and configuration problems: one line, exit 2, nothing left ---------------


def one_line_error(run: Run) -> str:
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert len(lines) == 1, run.output
    assert lines[0].startswith("smoke: error: ")
    return lines[0]


def test_engine_unreachable(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    assert run.returncode == 2
    assert "the docker engine is unreachable" in one_line_error(run)


def test_compose_v2_missing(clean_project: str, tmp_path: Path) -> None:
    empty_config = tmp_path / "docker-config"
    empty_config.mkdir()
    run = run_fault(clean_project, tmp_path, DOCKER_CONFIG=str(empty_config))
    assert run.returncode == 2
    assert "Docker Compose v2 is missing" in one_line_error(run)
    assert leftovers(clean_project) == []


def test_invalid_compose_file(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, "invalid")
    assert run.returncode == 2
    assert "invalid compose configuration" in one_line_error(run)
    assert leftovers(clean_project) == []


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_port_already_taken(clean_project: str, tmp_path: Path, taken_port: int) -> None:
    run = run_fault(clean_project, tmp_path, SMOKE_WEB_PORT=str(taken_port))
    assert run.returncode == 2
    line = one_line_error(run)
    assert f"port 127.0.0.1:{taken_port} for web is already in use" in line
    assert "SMOKE_WEB_PORT" in line
    assert leftovers(clean_project) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--timeout", "-1"), "argument --timeout: -1 is out of range"),
        (
            ("--web-url", "notaurl", "--chat-url", "http://127.0.0.1:1"),
            "'notaurl' is not an http(s) URL",
        ),
        (("--frobnicate",), "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "smoke", "run", *args],
        cwd=ROOT,
        env=smoke_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    run = Run(completed.returncode, completed.stdout + completed.stderr, "")
    assert message in one_line_error(run)


# -- kept stacks and parallel stacks ------------------------------------------------


def test_second_run_reuses_a_kept_stack(clean_project: str, tmp_path: Path) -> None:
    kept = run_fault(clean_project, tmp_path, args=("--keep-stack",))
    assert kept.returncode == 0, kept.output
    before = set(leftovers(clean_project))
    again = run_fault(clean_project, tmp_path, args=("--keep-stack",))
    assert again.returncode == 0, again.output
    assert set(leftovers(clean_project)) == before  # the same containers, reused
    last = run_fault(clean_project, tmp_path)
    assert last.returncode == 0, last.output
    assert leftovers(clean_project) == []


def test_three_runs_in_parallel(tmp_path: Path) -> None:
    projects = [f"smoke-par-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    processes = []
    for project in projects:
        workdir = tmp_path / project
        workdir.mkdir()
        processes.append(
            subprocess.Popen(
                command(project, workdir),
                cwd=ROOT,
                env=smoke_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    try:
        for process, output in zip(processes, outputs, strict=True):
            assert process.returncode == 0, output
            assert "PASS  smoke lite" in output
    finally:
        left = {project: leftovers(project) for project in projects}
    assert all(not items for items in left.values()), left
