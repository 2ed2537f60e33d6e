"""Run named steps in order, timing each and reporting it on the console."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from smoke import clock
from smoke.errors import CheckFailed, DockerCallFailed, EngineCallError, InternalError
from smoke.outcome import StepResult
from smoke.report.console import Console, Progress

T = TypeVar("T")


def _untraced(name: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass
class StepRunner:
    console: Console
    results: list[StepResult] = field(default_factory=list)
    #: Opens each step's trace (``Tracer.step``): its requests share a trace id.
    traced: Callable[[str], contextlib.AbstractContextManager[None]] = _untraced
    _progress: Progress | None = None

    def say(self, detail: str) -> None:
        """What the running step is doing now, shown on its progress line."""
        if self._progress is not None:
            self._progress.say(detail)

    def run(
        self, name: str, action: Callable[[], T], *, note: Callable[[T], str] | None = None
    ) -> T:
        started = clock.monotonic()
        try:
            with self.console.progress(name) as self._progress, self.traced(name):
                value = action()
        except CheckFailed as failure:
            self._failed(name, failure, started)
            raise
        except Exception as exc:  # not a verdict: said as what it is, never a traceback
            unforeseen = _unforeseen(exc)
            self._failed(name, unforeseen, started)
            raise unforeseen from exc
        except BaseException:
            self._record(StepResult(name, False, clock.monotonic() - started, None, clock.time()))
            raise
        finally:
            self._progress = None
        self._record(
            StepResult(name, True, clock.monotonic() - started, None, clock.time()),
            note(value) if note else "",
        )
        return value

    def _failed(self, name: str, failure: CheckFailed, started: float) -> None:
        failure.step = name
        failure.elapsed = clock.monotonic() - started
        self._record(StepResult(name, False, failure.elapsed, failure, clock.time()))

    def _record(self, result: StepResult, note: str = "") -> None:
        self.results.append(result)
        self.console.step_done(result.name, result.seconds, passed=result.passed, note=note)


def _unforeseen(exc: Exception) -> CheckFailed:
    """A docker call that failed, or a bug: a failure with a class and a hint."""
    if isinstance(exc, EngineCallError):
        return DockerCallFailed(str(exc))
    said = " ".join(str(exc).split())
    return InternalError(
        f"{type(exc).__name__}: {said[:200]}" if said else type(exc).__name__,
        traceback="".join(traceback.format_exception(exc)),
    )
