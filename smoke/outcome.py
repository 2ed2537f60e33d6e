"""What a finished run hands to its reports: steps, verdicts, costs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .budgets import Budgets, Verdict
from .errors import CheckFailed
from .steps import StepResult

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

    @property
    def exceeded(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.ok)


def step_key(name: str) -> str:
    """'chat dependency health (db)' -> 'chat_dependency_health_db'."""
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
