"""Run named steps in order, timing each and reporting it on the console."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .console import Console
from .errors import CheckFailed

T = TypeVar("T")


@dataclass(frozen=True)
class StepResult:
    name: str
    passed: bool
    seconds: float
    failure: CheckFailed | None = None
    #: Wall-clock end (epoch seconds), to line a step up with container log timestamps.
    finished_at: float = 0.0


@dataclass
class StepRunner:
    console: Console
    results: list[StepResult] = field(default_factory=list)

    def run(
        self, name: str, action: Callable[[], T], *, note: Callable[[T], str] | None = None
    ) -> T:
        started = time.monotonic()
        try:
            with self.console.progress(name):
                value = action()
        except CheckFailed as failure:
            failure.step = name
            failure.elapsed = time.monotonic() - started
            self._record(StepResult(name, False, failure.elapsed, failure, time.time()))
            raise
        except BaseException:
            self._record(StepResult(name, False, time.monotonic() - started, None, time.time()))
            raise
        self._record(
            StepResult(name, True, time.monotonic() - started, None, time.time()),
            note(value) if note else "",
        )
        return value

    def _record(self, result: StepResult, note: str = "") -> None:
        self.results.append(result)
        self.console.step_done(result.name, result.seconds, passed=result.passed, note=note)
