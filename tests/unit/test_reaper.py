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

from smoke.stack import reaper


def watchdog(monkeypatch: pytest.MonkeyPatch) -> tuple[int, threading.Thread, list[Any]]:
    """The reaper's main() on a thread, reading the pipe; what it reaped is recorded."""
    reaped: list[Any] = []
    monkeypatch.setattr(reaper, "reap", lambda *args, **kwargs: reaped.append((*args, kwargs)))
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
        "--secret",
        "API_KEY",
        "--compose-profile",
        "extra",
        "--env-file",
        "ci.env",
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
    options = {"profiles": ["extra"], "env_files": [Path("ci.env")]}
    files = [Path("a.yml"), Path("b.yml")]
    assert reaped == [("p1", files, Path("x.log"), 4242, ["API_KEY"], options)]


def test_the_run_side_releases_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[list[str]] = []

    class Process:
        def __init__(self, command: list[str], **kwargs: Any) -> None:
            started.append(command)
            assert kwargs["start_new_session"] is True
            self.fd = kwargs["pass_fds"][0]

    monkeypatch.setattr(reaper.subprocess, "Popen", Process)
    handle = reaper.start(
        "p1",
        [Path("docker-compose.yml"), Path("extra.yml")],
        tmp_path / "e2e.log",
        secret_names=("API_KEY", "DB_PASSWORD"),
        profiles=("extra", "cache"),
        env_files=(Path("ci.env"),),
    )
    (command,) = started
    assert command == [
        sys.executable,
        *("-m", "smoke.stack.reaper", "--fd", str(handle.process.fd)),  # type: ignore[attr-defined]
        *("--owner", str(os.getpid()), "--project", "p1"),
        *("--log-file", str((tmp_path / "e2e.log").resolve())),
        *("--compose-file", str(Path("docker-compose.yml").resolve())),
        *("--compose-file", str(Path("extra.yml").resolve())),
        *("--secret", "API_KEY", "--secret", "DB_PASSWORD"),  # names only: values stay in env
        *("--compose-profile", "extra", "--compose-profile", "cache"),
        *("--env-file", str(Path("ci.env").resolve())),
    ]
    handle.release()
    handle.release()  # a second release is harmless


def test_orphaned_compose_commands_of_the_project_are_found_and_stopped() -> None:
    if not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    # Processes whose command lines look like compose working on two projects (names
    # of this test run's own: the same test may run beside it, under mutmut say).
    project, other_project = f"p-orphan-{os.getpid()}", f"p-other-{os.getpid()}"
    mine = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(60)",
            "compose",
            "--project-name",
            project,
            "up",
        ]
    )
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "compose", "-p", other_project, "up"]
    )
    try:
        deadline = time.monotonic() + 5
        while mine.pid not in reaper._orphaned_compose(project) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reaper._orphaned_compose(project) == [mine.pid]
        reaper._stop_orphans(project)
        assert mine.wait(timeout=5) == -9
        assert other.poll() is None  # another project's compose is left alone
    finally:
        for process in (mine, other):
            process.kill()
            process.wait()


def test_the_watchdog_ignores_the_terminals_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[tuple[Any, Any]] = []
    monkeypatch.setattr(reaper, "reap", lambda *args, **kwargs: None)
    monkeypatch.setattr(reaper.signal, "signal", lambda *args: installed.append(args))
    read_fd, write_fd = os.pipe()
    os.write(write_fd, reaper._RELEASE)
    argv = ["--fd", str(read_fd), "--owner", "1", "--project", "p", "--log-file", "x"]
    assert reaper.main([*argv, "--compose-file", "a.yml"]) == 0
    assert installed == [
        (reaper.signal.SIGINT, reaper.signal.SIG_IGN),
        (reaper.signal.SIGHUP, reaper.signal.SIG_IGN),
    ]
    os.close(write_fd)
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    assert reaper.main([*argv[:1], str(read_fd), *argv[2:], "--compose-file", "a.yml"]) == 0


@pytest.mark.parametrize(
    "left_out", ["--fd", "--owner", "--project", "--log-file", "--compose-file"]
)
def test_the_watchdog_needs_every_argument(
    left_out: str, capsys: pytest.CaptureFixture[str]
) -> None:
    values = {
        "--fd": "0",
        "--owner": "1",
        "--project": "p",
        "--log-file": "x",
        "--compose-file": "a.yml",
    }
    argv = [word for flag, value in values.items() if flag != left_out for word in (flag, value)]
    with pytest.raises(SystemExit) as caught:
        reaper.main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m smoke.stack.reaper ")
    assert f"the following arguments are required: {left_out}" in err


def test_the_watchdog_is_detached_from_the_runs_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    class Process:
        def __init__(self, command: list[str], **kwargs: Any) -> None:
            seen.update(kwargs, command=command, fd_open=os.fstat(kwargs["pass_fds"][0]))

    monkeypatch.setattr(reaper.subprocess, "Popen", Process)
    monkeypatch.chdir(tmp_path)
    handle = reaper.start("p1", [Path("c.yml")], Path("e2e.log"))
    assert (seen["stdin"], seen["stdout"], seen["stderr"]) == (subprocess.DEVNULL,) * 3
    assert seen["cwd"] == tmp_path
    command = seen["command"]
    assert command[command.index("--fd") + 1] == str(seen["pass_fds"][0])
    assert isinstance(handle.process, Process)
    assert handle._fd is not None
    handle.release()
    assert handle._fd is None


def test_a_reap_writes_the_logs_with_a_note_then_removes_stack_and_mark(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import smoke.stack.compose
    from tests.unit.fakes import PASSWORD, FakeDocker, on_fake

    docker = FakeDocker(running=True)
    docker.volumes["p_smoke-run"] = {"io.contoso-smoke.run": "p"}
    monkeypatch.setattr(
        smoke.stack.compose,
        "Stack",
        lambda target: on_fake(target, docker),
    )
    stopped: list[str] = []
    monkeypatch.setattr(reaper, "_stop_orphans", stopped.append)
    monkeypatch.setattr(reaper, "_SETTLE_SECONDS", 0.01)
    log = tmp_path / "logs" / "e2e.log"
    reaper.reap("p", [Path("docker-compose.yml")], log, 4242)
    text = log.read_text(encoding="utf-8")
    assert text.splitlines()[-1] == (
        "reaper: the smoke run (PID 4242) died before its teardown; removing the stack"
    )
    assert "db-1" in text
    assert PASSWORD not in text
    assert not docker.running
    assert "container remove" in docker.calls
    assert "p_smoke-run" not in docker.volumes
    assert set(stopped) == {"p"}


def test_a_reap_whose_logs_fail_still_removes_the_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import smoke.stack.compose
    from tests.unit.fakes import FakeDocker, docker_error, on_fake

    docker = FakeDocker(running=True)
    docker.fail["compose logs"] = docker_error("compose logs")
    monkeypatch.setattr(
        smoke.stack.compose,
        "Stack",
        lambda target: on_fake(target, docker),
    )
    monkeypatch.setattr(reaper, "_stop_orphans", lambda project: None)
    monkeypatch.setattr(reaper, "_SETTLE_SECONDS", 0.01)
    reaper.reap("p", [Path("docker-compose.yml")], tmp_path / "e2e.log", 1)
    assert not docker.running


def test_a_reap_ends_only_after_two_empty_looks_in_a_row(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typing import cast

    from python_on_whales import DockerClient

    import smoke.stack.compose
    from smoke.stack.state import Resources
    from tests.unit.fakes import FakeDocker

    real_stack = smoke.stack.compose.Stack

    # What a killed `up` leaves: a container appears after a look found nothing.
    looks = iter([False, True, False, True, False, False, True])
    made: list[tuple[Path, ...]] = []

    class Stack(real_stack):  # type: ignore[misc,valid-type]
        def resources(self, *, names: bool = True) -> Resources:
            return Resources(containers=("c",)) if next(looks) else Resources()

    def make(target: Any) -> Any:
        made.append(target.compose_files)
        return Stack(
            target,
            docker=cast(DockerClient, docker),
            docker_for=docker.with_env,
            inspector=docker.inspector,
        )

    docker = FakeDocker(running=True)
    monkeypatch.setattr(smoke.stack.compose, "Stack", make)
    monkeypatch.setattr(reaper, "_stop_orphans", lambda project: None)
    monkeypatch.setattr(reaper, "_SETTLE_SECONDS", 0.0)
    reaper.reap("p", [Path("a.yml"), Path("b.yml")], tmp_path / "e2e.log", 1)
    assert docker.calls.count("container remove") == 2
    assert next(looks) is True  # the seventh look was never needed
    assert made == [(Path("a.yml"), Path("b.yml"))]


def test_a_watchdog_told_no_profiles_or_env_files_reaps_with_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reaped: list[Any] = []
    monkeypatch.setattr(reaper, "reap", lambda *args, **kwargs: reaped.append(kwargs))
    monkeypatch.setattr(reaper.signal, "signal", lambda *args: None)
    read_fd, write_fd = os.pipe()
    os.close(write_fd)  # the run is gone
    argv = ["--fd", str(read_fd), "--owner", "1", "--project", "p", "--log-file", "x"]
    assert reaper.main([*argv, "--compose-file", "a.yml"]) == 0
    assert reaped == [{"profiles": [], "env_files": []}]


def test_a_reap_asks_for_the_runs_own_stack_and_stops_orphans_before_each_removal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import smoke.stack.compose
    import smoke.stack.teardown
    from smoke.errors import SmokeError
    from smoke.stack.target import Target
    from tests.unit.fakes import FakeDocker, on_fake

    docker = FakeDocker(running=True)
    targets: list[Target] = []

    def make(target: Target) -> object:
        targets.append(target)
        return on_fake(target, docker)

    monkeypatch.setattr(smoke.stack.compose, "Stack", make)
    stopped: list[str] = []
    monkeypatch.setattr(reaper, "_stop_orphans", stopped.append)
    removals: list[object] = []

    def remove_stack(stack: object, **how: object) -> None:
        removals.append(how)
        before_each = how["before_each"]
        assert callable(before_each)
        before_each()
        before_each()
        raise SmokeError("the engine went away")  # a reaper has no one to tell

    monkeypatch.setattr(smoke.stack.teardown, "remove_stack", remove_stack)
    reaper.reap(
        "p",
        [Path("a.yml")],
        tmp_path / "e2e.log",
        7,
        ["API_KEY"],
        profiles=["cache"],
        env_files=[Path("ci.env")],
    )
    assert targets == [
        Target(
            "p", (Path("a.yml"),), ("API_KEY",), profiles=("cache",), env_files=(Path("ci.env"),)
        )
    ]
    assert stopped == ["p", "p", "p"]  # once first, then before each removal
    assert len(removals) == 1


def test_a_watchdog_with_no_secrets_reaps_with_none(monkeypatch: pytest.MonkeyPatch) -> None:
    reaped: list[Any] = []
    monkeypatch.setattr(reaper, "reap", lambda *args, **kwargs: reaped.append(args))
    monkeypatch.setattr(reaper.signal, "signal", lambda *args: None)
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    argv = ["--fd", str(read_fd), "--owner", "1", "--project", "p", "--log-file", "x"]
    assert reaper.main([*argv, "--compose-file", "a.yml"]) == 0
    assert reaped == [("p", [Path("a.yml")], Path("x"), 1, [])]


def test_the_watchdogs_help_says_what_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        reaper.main(["--help"])
    first_line = (reaper.__doc__ or "").strip().splitlines()[0]
    assert first_line in capsys.readouterr().out


def test_orphans_are_found_by_either_project_flag_and_a_vanished_process_ends_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A /proc of its own: a process that ended while being read, compose commands of
    the project (`-p NAME` last, `--project-name NAME`, bytes that are not UTF-8), and
    others."""
    processes = {
        "100": None,  # gone: no cmdline to read
        "200": b"docker\0compose\0up\0-p\0proj",
        "300": b"docker\0compose\0--project-name\0proj\0--\xff\0up",
        "400": b"docker\0compose\0-p\0other\0up",
        "500": b"docker\0ps\0-p\0proj",
        "600": b"docker\0compose\0-P\0proj",
    }
    for pid, cmdline in processes.items():
        (tmp_path / pid).mkdir()
        if cmdline is not None:
            (tmp_path / pid / "cmdline").write_bytes(cmdline + b"\0")
    real_path = reaper.Path
    monkeypatch.setattr(reaper, "Path", lambda p: tmp_path if p == "/proc" else real_path(p))
    assert sorted(reaper._orphaned_compose("proj")) == [200, 300]
    killed: list[int] = []

    def kill(pid: int, sig: int) -> None:
        killed.append(pid)
        raise ProcessLookupError(pid)  # gone since it was listed

    monkeypatch.setattr(reaper.os, "kill", kill)
    reaper._stop_orphans("proj")
    assert sorted(killed) == [200, 300]
