"""The reaper's side of the pipe, and how it finds a dead run's orphaned compose
commands; the real kill -9 runs are in tests/integration/test_reaper.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from smoke import reaper


def watchdog(monkeypatch: pytest.MonkeyPatch) -> tuple[int, threading.Thread, list[Any]]:
    """The reaper's main() on a thread, reading the pipe; what it reaped is recorded."""
    reaped: list[Any] = []
    monkeypatch.setattr(reaper, "reap", lambda *args: reaped.append(args))
    read_fd, write_fd = os.pipe()
    argv = [
        "--fd",
        str(read_fd),
        "--owner",
        "4242",
        "--project",
        "p1",
        "--log-file",
        "x.log",
        "--compose-file",
        "a.yml",
        "--compose-file",
        "b.yml",
    ]
    thread = threading.Thread(target=reaper.main, args=(argv,), daemon=True)
    monkeypatch.setattr(reaper.signal, "signal", lambda *args: None)  # not the main thread
    thread.start()
    return write_fd, thread, reaped


def test_a_released_reaper_reaps_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    write_fd, thread, reaped = watchdog(monkeypatch)
    os.write(write_fd, reaper._RELEASE)
    os.close(write_fd)
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert reaped == []


def test_a_closed_pipe_means_the_run_died_and_the_stack_is_reaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_fd, thread, reaped = watchdog(monkeypatch)
    os.close(write_fd)  # what the kernel does when the run dies, however it dies
    thread.join(timeout=5)
    assert reaped == [("p1", [Path("a.yml"), Path("b.yml")], Path("x.log"), 4242)]


def test_the_run_side_releases_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[list[str]] = []

    class Process:
        def __init__(self, command: list[str], **kwargs: Any) -> None:
            started.append(command)
            assert kwargs["start_new_session"] is True
            self.fd = kwargs["pass_fds"][0]

    monkeypatch.setattr(reaper.subprocess, "Popen", Process)
    handle = reaper.start("p1", [Path("docker-compose.yml")], tmp_path / "e2e.log")
    (command,) = started
    assert command[1:4] == ["-m", "smoke.reaper", "--fd"]
    assert command[command.index("--owner") + 1] == str(os.getpid())
    assert command[command.index("--project") + 1] == "p1"
    assert command[command.index("--log-file") + 1] == str((tmp_path / "e2e.log").resolve())
    assert command[command.index("--compose-file") + 1] == str(Path("docker-compose.yml").resolve())
    handle.release()
    handle.release()  # a second release is harmless


def test_orphaned_compose_commands_of_the_project_are_found_and_stopped() -> None:
    if not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    # Processes whose command lines look like compose working on two projects.
    mine = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(60)",
            "compose",
            "--project-name",
            "p-orphan",
            "up",
        ]
    )
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "compose", "-p", "p-other", "up"]
    )
    try:
        deadline = time.monotonic() + 5
        while mine.pid not in reaper._orphaned_compose("p-orphan") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reaper._orphaned_compose("p-orphan") == [mine.pid]
        reaper._stop_orphans("p-orphan")
        assert mine.wait(timeout=5) == -9
        assert other.poll() is None  # another project's compose is left alone
    finally:
        for process in (mine, other):
            process.kill()
            process.wait()
