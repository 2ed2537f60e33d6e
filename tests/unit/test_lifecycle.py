"""Before and after the work of a stack-starting command: the logs kept, even when
compose is interrupted once, and an internal error's traceback after them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from smoke import lifecycle
from smoke.report.console import Console
from smoke.report.errors import InternalError
from smoke.report.masking import Masker
from tests.unit.fakes import PASSWORD, FakeDocker, docker_error, stack


def flaky_logs(docker: FakeDocker, failures: int) -> None:
    real = docker.compose.logs
    left = [failures]

    def logs(*args: Any, **kwargs: Any) -> str:
        if left[0]:
            left[0] -= 1
            raise docker_error("compose logs", 130, "interrupted")
        return str(real(*args, **kwargs))

    docker.compose.logs = logs


def test_logs_cut_short_once_are_read_again(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    flaky_logs(docker, failures=1)
    out = io.StringIO()
    log = tmp_path / "e2e.log"
    lifecycle.capture_logs(stack(docker), log, Masker([PASSWORD]), Console(out, tty=False))
    assert "chat-1" in log.read_text()
    assert out.getvalue() == ""


def test_logs_cut_short_twice_are_said_lost_and_nothing_stops(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    flaky_logs(docker, failures=2)
    out = io.StringIO()
    log = tmp_path / "e2e.log"
    lifecycle.capture_logs(stack(docker), log, Masker(), Console(out, tty=False))
    assert not log.exists()
    said = out.getvalue()
    assert said.startswith(f"    could not write {log}: ")
    assert len(said.strip().split(": ", 1)[1]) <= 160


def test_an_internal_errors_traceback_follows_the_logs_masked(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    failure = InternalError("KeyError: 'x'", traceback=f"Traceback ...\nKeyError: {PASSWORD}\n")
    failure.step = "chat health"
    log = tmp_path / "e2e.log"
    lifecycle.capture_logs(
        stack(docker), log, Masker([PASSWORD]), Console(io.StringIO(), tty=False), failure
    )
    text = log.read_text()
    assert text.index("chat-1") < text.index("smoke internal error in chat health:\n")
    assert text.endswith("Traceback ...\nKeyError: ****\n")


def test_a_signal_during_the_work_is_answered_in_one_line() -> None:
    out = io.StringIO()
    lifecycle.finishing(Console(out, tty=False))("SIGTERM")
    assert out.getvalue() == "smoke: SIGTERM received: finishing the logs and teardown first\n"


def test_the_summary_words_for_each_ending_of_a_stack() -> None:
    assert lifecycle.stack_said("removed", "p") == "stack removed"
    assert lifecycle.stack_said("left over", "p") == (
        "stack NOT fully removed: `nox -s teardown -- --project p`"
    )
    assert lifecycle.stack_said("untouched", "p") == (
        "stack NOT removed (its reaper will): `nox -s teardown -- --project p`"
    )
