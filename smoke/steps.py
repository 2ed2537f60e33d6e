"""Run named steps in order, timing each and reporting it on the console.

What a finished run hands to its reports: steps, verdicts, costs.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from python_on_whales.exceptions import DockerException

from smoke.errors import CheckFailed, DockerCallFailed, InternalError, docker_verb
from smoke.report.budgets import Budgets, Verdict
from smoke.report.console import Console

T = TypeVar("T")


@dataclass(frozen=True)
class StepResult:
    name: str
    passed: bool
    seconds: float
    failure: CheckFailed | None = None
    #: Wall-clock end (epoch seconds), to line a step up with container log timestamps.
    finished_at: float = 0.0


def _untraced(name: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass
class StepRunner:
    console: Console
    results: list[StepResult] = field(default_factory=list)
    #: Opens each step's trace (``Tracer.step``): its requests share a trace id.
    traced: Callable[[str], contextlib.AbstractContextManager[None]] = _untraced

    def run(
        self, name: str, action: Callable[[], T], *, note: Callable[[T], str] | None = None
    ) -> T:
        started = time.monotonic()
        try:
            with self.console.progress(name), self.traced(name):
                value = action()
        except CheckFailed as failure:
            self._failed(name, failure, started)
            raise
        except Exception as exc:  # not a verdict: said as what it is, never a traceback
            unforeseen = _unforeseen(exc)
            self._failed(name, unforeseen, started)
            raise unforeseen from exc
        except BaseException:
            self._record(StepResult(name, False, time.monotonic() - started, None, time.time()))
            raise
        self._record(
            StepResult(name, True, time.monotonic() - started, None, time.time()),
            note(value) if note else "",
        )
        return value

    def _failed(self, name: str, failure: CheckFailed, started: float) -> None:
        failure.step = name
        failure.elapsed = time.monotonic() - started
        self._record(StepResult(name, False, failure.elapsed, failure, time.time()))

    def _record(self, result: StepResult, note: str = "") -> None:
        self.results.append(result)
        self.console.step_done(result.name, result.seconds, passed=result.passed, note=note)


def _unforeseen(exc: Exception) -> CheckFailed:
    """A docker call that failed, or a bug: a failure with a class and a hint."""
    if isinstance(exc, DockerException):
        said = (exc.stderr or "").strip()
        last = said.split("\n")[-1] if said else ""
        return DockerCallFailed(
            f"`{docker_verb(exc.docker_command)}` exited {exc.return_code}"
            + (f": {last}" if last else "")
        )
    said = " ".join(str(exc).split())
    return InternalError(
        f"{type(exc).__name__}: {said[:200]}" if said else type(exc).__name__,
        traceback="".join(traceback.format_exception(exc)),
    )


Result = Literal["passed", "over_budget", "failed", "interrupted", "error"]


@dataclass(frozen=True)
class Outcome:
    result: Result
    profile: str
    project: str | None
    planned_steps: tuple[str, ...]
    steps: tuple[StepResult, ...]
    duration: float
    budgets: Budgets
    verdicts: tuple[Verdict, ...] = ()
    chat_image_bytes: int | None = None
    web_image_bytes: int | None = None
    storage_driver: str | None = None
    failure: CheckFailed | None = None
    #: Why the run stopped when no check failed (an interrupt or an error).
    stopped_by: str | None = None
    started_at: str = ""
    #: (step, why) for each step the options dropped, e.g. the browser step.
    dropped: tuple[tuple[str, str], ...] = ()
    #: Where the slowest request's time went (``slowest: ...``), when traced.
    slowest: str | None = None
    #: Each traced step's trace id, to find its spans in e2e-trace.json or a backend.
    trace_ids: tuple[tuple[str, str], ...] = ()

    @property
    def blame(self) -> str | None:
        return self.failure.blame if self.failure is not None else None

    @property
    def timed_out(self) -> bool:
        """Over the duration budget, or a step ran out of time: the time needs blaming."""
        over = any(v.name == "duration" for v in self.exceeded)
        return over or (self.failure is not None and self.failure.timed_out)

    @property
    def exceeded(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.ok)


def step_key(name: str) -> str:
    """'chat dependency health (db)' -> 'chat_dependency_health_db'."""
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
