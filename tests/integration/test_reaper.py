"""Nothing left behind even when the smoke itself dies, for real: kill -9 of the run
alone or of its whole process group leaves nothing 15 s later, a kept stack gets no
reaper and is whole after the time one takes, a stack left with no reaper is named
and removed by the next run, and --keep-on-failure keeps only what failed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import leftovers
from tests.integration.faultkit import (
    read_until,
    run_fault,
    start_fault,
    wait_for_containers,
    wait_until_gone,
)

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]

REAP_WITHIN_SECONDS = 15


def running(project: str) -> list[str]:
    return [item for item in leftovers(project) if item.startswith("container")]


def reapers_of(project: str) -> list[int]:
    """The PIDs of reapers watching ``project``, from every process's command line."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # not a process, or one that has just ended
            continue
        if b"smoke.stack.reaper" in argv and project.encode() in argv:
            found.append(int(entry.name))
    return found


def kill_mid_run(process: subprocess.Popen[str], *, group: bool, reaped: str | None = None) -> str:
    """kill -9 three seconds in, or sooner once `up` is done: mid-run either way.
    ``reaped``: the project whose reaper must be watching by then."""
    deadline = time.monotonic() + 3
    seen = read_until(process, "✓ compose up", time.monotonic() + 60)
    time.sleep(max(0.0, min(0.5, deadline - time.monotonic())))
    assert process.poll() is None, "the run ended before it could be killed:\n" + seen
    if reaped is not None:
        assert reapers_of(reaped), "the run started no reaper"
    if group:
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.kill()
    process.wait(timeout=10)
    return seen


@pytest.mark.parametrize("group", [False, True], ids=["smoke-alone", "process-group"])
def test_kill_9_mid_run_leaves_nothing(clean_project: str, tmp_path: Path, group: bool) -> None:
    process = start_fault(clean_project, tmp_path, new_session=True)
    kill_mid_run(process, group=group, reaped=clean_project)
    assert process.returncode == -signal.SIGKILL
    left = wait_until_gone(clean_project, REAP_WITHIN_SECONDS)
    assert left == [], f"left {REAP_WITHIN_SECONDS}s after kill -9: {left}"
    log = (tmp_path / "e2e-compose.log").read_text()
    assert f"reaper: the smoke run (PID {process.pid}) died before its teardown" in log


def test_a_kept_stack_gets_no_reaper_and_stays_whole(clean_project: str, tmp_path: Path) -> None:
    kept = run_fault(clean_project, tmp_path, args=("--keep-stack",))
    try:
        assert kept.returncode == 0, kept.output
        assert reapers_of(clean_project) == [], "a kept stack gets no reaper"
        # A reaper removes a dead run's stack within seconds (the kill -9 tests above);
        # the kept one is still whole after as long.
        time.sleep(5)
        assert len(running(clean_project)) == 3, "a kept stack must never be reaped"
    finally:
        down = run_fault(clean_project, tmp_path)  # reuses the kept stack, then removes it
    assert down.returncode == 0, down.output
    assert leftovers(clean_project) == []


def test_a_stale_stack_is_named_then_removed_by_the_next_run(
    clean_project: str, tmp_path: Path
) -> None:
    process = start_fault(clean_project, tmp_path, args=("--no-reaper",), new_session=True)
    kill_mid_run(process, group=False)
    wait_for_containers(clean_project, time.monotonic() + 30)
    time.sleep(2)  # no reaper: the stack stays
    assert running(clean_project), "without a reaper the stack should still be there"

    again = run_fault(clean_project, tmp_path)
    assert again.returncode == 0, again.output
    assert f"stale stack of project {clean_project} (started" in again.output
    assert f"by PID {process.pid}" in again.output
    assert "that run died with no reaper to remove it): removing it" in again.output
    assert again.seconds < 60  # named and removed on the way, not waited for
    assert leftovers(clean_project) == []


def test_keep_on_failure_keeps_only_what_failed(clean_project: str, tmp_path: Path) -> None:
    passed = run_fault(clean_project, tmp_path, args=("--keep-on-failure",))
    assert passed.returncode == 0, passed.output
    assert "stack removed" in passed.output
    assert leftovers(clean_project) == []

    failed = run_fault(
        clean_project, tmp_path, "chat-drift", args=("--timeout", "4"), KEEP_STACK="on-failure"
    )
    try:
        assert failed.returncode == 1, failed.output
        assert f"stack kept because it failed (project {clean_project})" in failed.output
        assert f"nox -s teardown -- --project {clean_project}" in failed.output
        time.sleep(2)  # and no reaper takes it
        assert len(running(clean_project)) == 3
    finally:
        down = run_fault(clean_project, tmp_path, "chat-drift", args=("--timeout", "4"))
    assert "✓ teardown" in down.output
    assert leftovers(clean_project) == []
