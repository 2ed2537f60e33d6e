"""A run's end: the logs kept, even when compose is interrupted once, and an
internal error's traceback after them; the shield; the summary's words."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from smoke import finish
from smoke.errors import InternalError
from smoke.masking import Masker
from smoke.report.console import Console
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
    finish.capture_logs(stack(docker), log, Masker([PASSWORD]), Console(out, tty=False))
    assert "chat-1" in log.read_text()
    assert out.getvalue() == ""


def test_logs_cut_short_twice_are_said_lost_and_nothing_stops(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    flaky_logs(docker, failures=2)
    out = io.StringIO()
    log = tmp_path / "e2e.log"
    finish.capture_logs(stack(docker), log, Masker(), Console(out, tty=False))
    assert not log.exists()
    said = out.getvalue()
    assert said.startswith(f"    could not write {log}: ")
    assert len(said.strip().split(": ", 1)[1]) <= 160


def test_an_internal_errors_traceback_follows_the_logs_masked(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    failure = InternalError("KeyError: 'x'", traceback=f"Traceback ...\nKeyError: {PASSWORD}\n")
    failure.step = "chat health"
    log = tmp_path / "e2e.log"
    finish.capture_logs(
        stack(docker), log, Masker([PASSWORD]), Console(io.StringIO(), tty=False), failure
    )
    text = log.read_text()
    assert text.index("chat-1") < text.index("smoke internal error in chat health:\n")
    assert text.endswith("Traceback ...\nKeyError: ****\n")


def test_a_signal_during_the_work_is_answered_in_one_line() -> None:
    out = io.StringIO()
    finish.finishing(Console(out, tty=False))("SIGTERM")
    assert out.getvalue() == "smoke: SIGTERM received: finishing the logs and teardown first\n"


def test_the_summary_words_for_each_ending_of_a_stack() -> None:
    assert finish.stack_said("removed", "p") == "stack removed"
    assert finish.stack_said("left over", "p") == (
        "stack NOT fully removed: `nox -s teardown -- --project p`"
    )
    assert finish.stack_said("untouched", "p") == (
        "stack NOT removed (its reaper will): `nox -s teardown -- --project p`"
    )


def test_logs_that_cannot_be_written_are_said_in_one_short_line(tmp_path: Path) -> None:
    where = tmp_path / ("a-folder-not-a-file-" * 8)
    where.mkdir()  # a folder where the log file should be
    out = io.StringIO()
    finish.capture_logs(stack(FakeDocker(running=True)), where, Masker(), Console(out))
    (line,) = out.getvalue().splitlines()
    said = line.split(f"could not write {where}: ", 1)[1]
    assert said.startswith("[Errno 21] Is a directory")
    assert len(said) == 160
    assert said.endswith("…")


def test_a_signal_in_the_instant_before_the_shield_still_gets_the_work_done_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C right as the last step ends lands before the shield is up: the shield is
    put up again, the logs and teardown run once, and the signal is handed back."""
    import contextlib

    from smoke import signals
    from smoke.errors import Interrupted

    real = signals.shielded
    entries: list[int] = []

    @contextlib.contextmanager
    def late(on_signal: object = None) -> Any:
        entries.append(1)
        if len(entries) == 1:
            raise Interrupted("SIGINT", exit_code=130)  # before the shield is up
        with real():
            yield

    monkeypatch.setattr(signals, "shielded", late)
    done: list[str] = []
    landed = finish.under_shield(
        lambda: done.append("logs and teardown"), Console(io.StringIO(), tty=False)
    )
    assert done == ["logs and teardown"]
    assert isinstance(landed, Interrupted)
    assert len(entries) == 2
    assert (
        finish.under_shield(lambda: done.append("again"), Console(io.StringIO(), tty=False)) is None
    )
