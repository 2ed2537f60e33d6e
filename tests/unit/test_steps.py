"""The step runner: each step timed and recorded as it ended, its line printed."""

from __future__ import annotations

import io

import pytest

from smoke import clock
from smoke.errors import CheckFailed, DockerCallFailed, InternalError
from smoke.report.console import Console
from smoke.steps import StepRunner


class Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def slow(value: str, seconds: float = 0.05) -> str:
    clock.sleep(seconds)
    return value


def test_a_passing_step_is_timed_and_noted() -> None:
    out = io.StringIO()
    runner = StepRunner(Console(out, tty=False))
    before = clock.time()
    assert runner.run("chat health", lambda: slow("ok"), note=lambda v: f"said {v}") == "ok"
    (result,) = runner.results
    assert (result.name, result.passed, result.failure) == ("chat health", True, None)
    assert result.seconds == pytest.approx(0.05)  # the fake clock: exactly what it slept
    assert before < result.finished_at <= clock.time()
    assert out.getvalue().rstrip("\n").endswith("s  said ok")
    runner.run("teardown", lambda: None)
    assert out.getvalue().splitlines()[-1].endswith("s")


def test_a_failed_check_is_recorded_with_its_failure_and_time() -> None:
    runner = StepRunner(Console(io.StringIO(), tty=False))
    before = clock.time()

    def fail() -> None:
        clock.sleep(0.05)
        raise CheckFailed("no")

    with pytest.raises(CheckFailed) as caught:
        runner.run("response contract", fail)
    (result,) = runner.results
    assert (result.passed, result.failure) == (False, caught.value)
    assert caught.value.step == "response contract"
    assert caught.value.elapsed == result.seconds == pytest.approx(0.05)
    assert before < result.finished_at <= clock.time()


def test_an_unforeseen_error_is_a_failed_step_with_a_class_not_a_traceback() -> None:
    out = io.StringIO()
    runner = StepRunner(Console(out, tty=False))
    before = clock.time()

    def boom() -> None:
        clock.sleep(0.05)
        raise RuntimeError("boom\nsecond line")

    with pytest.raises(InternalError) as caught:
        runner.run("web page", boom)
    (result,) = runner.results
    assert (result.passed, result.failure) == (False, caught.value)
    assert str(caught.value) == "RuntimeError: boom second line"
    assert caught.value.failure_class == "smoke internal error"
    assert caught.value.step == "web page"
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert 'raise RuntimeError("boom\\nsecond line")' in caught.value.traceback
    assert "Traceback" not in out.getvalue()
    assert result.seconds == pytest.approx(0.05)  # the fake clock: exactly what it slept
    assert before < result.finished_at <= clock.time()


def test_a_docker_call_that_fails_inside_a_step_names_the_call() -> None:
    from smoke.stack.client import translated
    from tests.unit.fakes import docker_error

    runner = StepRunner(Console(io.StringIO(), tty=False))

    def port() -> None:
        raise translated(
            docker_error("compose --file a.yml port chat 8000", 125, "one\nno such service")
        )

    with pytest.raises(DockerCallFailed) as caught:
        runner.run("chat health", port)
    assert str(caught.value) == "`docker compose port` exited 125: no such service"
    assert caught.value.failure_class == "docker call failed"


def test_the_progress_line_names_the_running_step(monkeypatch: pytest.MonkeyPatch) -> None:
    import smoke.report.console

    monkeypatch.setattr(smoke.report.console, "_TICK_SECONDS", 0.01)
    out = Terminal()
    StepRunner(Console(out, tty=True)).run("compose up", lambda: slow("x", 0.1))
    assert " compose up " in out.getvalue().split("\r")[1]


def test_unforeseen_errors_are_said_in_one_bounded_line() -> None:
    from smoke.stack.client import translated
    from tests.unit.fakes import docker_error

    runner = StepRunner(Console(io.StringIO(), tty=False))

    def quiet_docker() -> None:
        raise translated(docker_error("volume ls", 1, ""))

    with pytest.raises(DockerCallFailed) as caught:
        runner.run("claim", quiet_docker)
    assert str(caught.value) == "`docker volume` exited 1"

    def wordless() -> None:
        raise RuntimeError

    with pytest.raises(InternalError) as internal:
        runner.run("check", wordless)
    assert str(internal.value) == "RuntimeError"

    def long_winded() -> None:
        raise ValueError("x" * 500)

    with pytest.raises(InternalError) as long:
        runner.run("check", long_winded)
    assert str(long.value) == "ValueError: " + "x" * 200
    assert long.value.traceback.startswith("Traceback (most recent call last):")
    assert long.value.traceback.rstrip().endswith("ValueError: " + "x" * 500)


def test_what_a_running_step_says_reaches_its_progress_line_and_no_other() -> None:
    runner = StepRunner(Console(io.StringIO(), tty=False))
    seen: list[str] = []

    def building() -> None:
        runner.say("building web: step 1/6, FROM python")
        assert runner._progress is not None
        seen.append(runner._progress.detail)

    runner.run("compose up", building)
    runner.say("after the step: said to no one")  # no step runs: nothing breaks
    assert seen == ["building web: step 1/6, FROM python"]
    assert runner._progress is None
