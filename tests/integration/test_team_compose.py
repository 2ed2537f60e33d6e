"""A team's own compose file, for real: a one-shot migration job (exit 0, then exit 1),
a cache with a healthcheck (healthy, then never), a service behind a profile (with
and without it, and reaped after a kill -9), and an env file that moves chat's port.
Every case leaves nothing behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from tests.conftest import ROOT, leftovers
from tests.integration.faultkit import (
    read_until,
    run_fault,
    smoke_env,
    start_fault,
    wait_until_gone,
)
from tests.integration.smoke_cli import nox

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def step_line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if f" {name} " in f"{line} ")


def test_a_migration_job_that_exits_0_passes_with_its_line(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "extra-migrate")
    assert run.returncode == 0, run.output
    line = step_line(run.output, "job migrate")
    assert line.strip().startswith("✓ job migrate")
    assert "exited 0 after" in line
    assert "migrate: applied 0001_init" in run.log  # its work, in the stack's logs
    assert leftovers(clean_project) == []


def test_a_migration_job_that_exits_1_fails_naming_it_and_its_code(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "extra-migrate", MIGRATE_EXIT="1")
    assert run.returncode == 1, run.output
    assert "job migrate exited with code 1" in run.output
    assert "failure class: init job failed" in run.output
    assert "migrate: applied 0001_init, exiting 1" in run.output  # its own last lines
    assert "✓ chat health" not in run.output  # chat never started: the job comes first
    assert leftovers(clean_project) == []


def test_a_cache_with_a_healthcheck_is_waited_for_until_healthy(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "extra-cache")
    assert run.returncode == 0, run.output
    assert step_line(run.output, "service cache").strip().startswith("✓ service cache")
    assert "healthy after" in step_line(run.output, "service cache")
    assert leftovers(clean_project) == []


def test_a_cache_that_never_gets_healthy_fails_naming_it_and_its_healthcheck(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(
        clean_project,
        tmp_path,
        "extra-cache",
        "extra-cache-never-healthy",
        args=("--timeout", "30"),
    )
    assert run.returncode == 1, run.output
    assert "✗ service cache" in run.output
    assert "cache is unhealthy" in run.output
    # Its last words, where the traceback says why, not its first 200 characters.
    assert re.search(
        r"its healthcheck said: ….*ConnectionRefusedError: \[Errno 111\] Connection refused\n",
        run.output,
    ), run.output
    assert "failure class: service not ready" in run.output
    assert run.seconds < 30 + 20  # within --timeout (and the teardown)
    assert leftovers(clean_project) == []


def test_a_profiles_service_runs_only_with_its_profile(clean_project: str, tmp_path: Path) -> None:
    without = run_fault(clean_project, tmp_path, "extra-profile")
    assert without.returncode == 0, without.output
    assert "service worker" not in without.output
    # As the issue has it: `COMPOSE_PROFILES=extra nox -s smoke_lite`.
    files = "docker-compose.yml:tests/compose/extra-profile.yml"
    log = tmp_path / "profile.log"
    with_profile = nox(
        "smoke_lite",
        "--project",
        clean_project,
        "--log-file",
        str(log),
        env={"COMPOSE_PROFILES": "extra", "COMPOSE_FILE": files},
    )
    assert with_profile.returncode == 0, with_profile.output
    assert "running after" in step_line(with_profile.output, "service worker")
    assert "worker: up" in log.read_text()
    flag = run_fault(clean_project, tmp_path, "extra-profile", args=("--compose-profile", "extra"))
    assert flag.returncode == 0, flag.output
    assert "service worker" in flag.output
    assert leftovers(clean_project) == []


def test_a_kill_9_with_a_profiles_service_up_is_reaped_whole(
    clean_project: str, tmp_path: Path
) -> None:
    process = start_fault(
        clean_project, tmp_path, "extra-profile", new_session=True, COMPOSE_PROFILES="extra"
    )
    read_until(process, "service worker", time.monotonic() + 90)
    assert process.poll() is None
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert wait_until_gone(clean_project, 20) == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_an_env_file_moving_chats_port_is_honoured_by_up_probes_and_teardown(
    clean_project: str, tmp_path: Path
) -> None:
    port = free_port()
    moved = tmp_path / "chat-port.env"
    moved.write_text(f"SMOKE_CHAT_PORT={port}\n")
    # An explicit env file replaces the default .env: pass that one too, if there is one.
    env_files = [ROOT / ".env"] if (ROOT / ".env").is_file() else []
    env = smoke_env()
    env.pop("SMOKE_CHAT_PORT")  # the shell would win over the file

    def smoke(command: str, *args: str) -> subprocess.CompletedProcess[str]:
        files = [word for path in (*env_files, moved) for word in ("--env-file", str(path))]
        return subprocess.run(
            [sys.executable, "-m", "smoke", command, "--project", clean_project, *files, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    kept = smoke("run", "--profile", "lite", "--keep-stack", "--log-file", str(tmp_path / "e.log"))
    try:
        assert kept.returncode == 0, kept.stdout + kept.stderr
        chat = DockerClient().container.list(
            filters=[
                ("label", f"com.docker.compose.project={clean_project}"),
                ("label", "com.docker.compose.service=chat"),
            ]
        )
        published = chat[0].network_settings.ports["8000/tcp"]
        assert [binding["HostPort"] for binding in published] == [str(port)]
    finally:
        teardown = smoke("teardown")
    assert teardown.returncode == 0, teardown.stdout + teardown.stderr
    assert "teardown: removed" in teardown.stdout
    assert leftovers(clean_project) == []
