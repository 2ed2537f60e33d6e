"""What a finished run hands to its reports: each step's result, the budgets and
their verdicts, the run's outcome. Data only, below every layer.

Sizes are decimal, as the runbook writes them: 1 GB = 1,000,000,000 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from smoke.errors import CheckFailed


@dataclass(frozen=True)
class StepResult:
    name: str
    passed: bool
    seconds: float
    failure: CheckFailed | None = None
    #: Wall-clock end (epoch seconds), to line a step up with container log timestamps.
    finished_at: float = 0.0


@dataclass(frozen=True)
class Budgets:
    max_duration_seconds: float = 420.0
    max_chat_image_bytes: int = 2_500_000_000
    max_web_image_bytes: int = 1_500_000_000


@dataclass(frozen=True)
class Verdict:
    name: str  # duration, chat_image, web_image
    measured: float
    limit: float
    unit: str  # "s" or "bytes"

    @property
    def ok(self) -> bool:
        return self.measured <= self.limit

    def describe(self) -> str:
        if self.unit == "s":
            return f"{self.name} budget: {self.measured:.1f}s > {self.limit:g}s"
        measured, limit = format_size(int(self.measured)), format_size(int(self.limit))
        return f"{self.name} budget: {measured} > {limit}"


def format_size(size: int) -> str:
    if size >= 10**9:
        return f"{size / 10**9:.2f} GB"
    return f"{size / 10**6:.1f} MB"


def evaluate(
    budgets: Budgets, *, duration: float, chat_image: int | None, web_image: int | None
) -> list[Verdict]:
    verdicts = [Verdict("duration", duration, budgets.max_duration_seconds, "s")]
    if chat_image is not None:
        verdicts.append(Verdict("chat_image", chat_image, budgets.max_chat_image_bytes, "bytes"))
    if web_image is not None:
        verdicts.append(Verdict("web_image", web_image, budgets.max_web_image_bytes, "bytes"))
    return verdicts


@dataclass(frozen=True)
class SpecOutcome:
    """A trace spec, judged over every step it applies to."""

    name: str
    passed: bool
    #: The first failure, in the blame's form: its step, assertion, what was measured.
    said: str = ""


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
    #: The trace specs judged, in order, and the seconds the judging took.
    specs: tuple[SpecOutcome, ...] = ()
    specs_seconds: float | None = None

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
