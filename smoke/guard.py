"""A run's claim on its stack: checked before it starts, marked while it runs, and a
reaper standing by in case the run dies before its own teardown.

Before ``up``: a stack of the project left by a run that died (no reaper could act)
is named and removed; one that another live run owns stops this run (exit 2).
Beside ``up``: the mark is written on a worker thread and the reaper is started,
so neither costs the run any time. At the end: the mark is cleared (or turned into
"kept") and the reaper told to stand down.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from . import reaper
from .console import Console
from .errors import ProjectInUse
from .options import FuzzOptions, RunOptions
from .ownership import LABEL, Owner, Verdict, judge, marker_name
from .stack import Stack
from .teardown import remove_stack


def inspect(*, stack_exists: bool, marks: list[dict[str, str]], max_run_seconds: float) -> Verdict:
    """What the project's marks say about a stack found before the run starts."""
    return judge(
        marks, stack_exists=stack_exists, now=datetime.now(UTC), max_run_seconds=max_run_seconds
    )


def settle(stack: Stack, verdict: Verdict, console: Console) -> bool:
    """Act on the verdict before ``up``; returns whether a kept stack is reused."""
    if verdict.claim == "in use" and verdict.owner is not None:
        raise ProjectInUse(
            f"project {stack.project} is in use by a running smoke ({verdict.owner.describe()})",
            hint="wait for it to finish, or give this run another --project",
        )
    if verdict.claim == "stale" and verdict.owner is not None:
        console.line(
            f"smoke: stale stack of project {stack.project} ({verdict.owner.describe()}; "
            "that run died with no reaper to remove it): removing it"
        )
        remove_stack(stack)
        stack.unmark(LABEL)
        return False
    return verdict.claim == "kept"


class Claim:
    """This run's mark and reaper."""

    def __init__(
        self, stack: Stack, options: RunOptions | FuzzOptions, *, clear_first: bool = True
    ) -> None:
        self._stack = stack
        self._options = options
        self._clear_first = clear_first  # earlier runs' marks to remove before ours
        self._kept_from_start = isinstance(options, RunOptions) and options.keep == "always"
        self._reaper: reaper.Reaper | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claim")
        self._marking: Future[None] | None = None

    def start(self) -> None:
        """Beside ``up``: mark the project, and unless the stack is kept, start a reaper."""
        self._marking = self._pool.submit(self._mark, kept=self._kept_from_start)
        if self._options.reaper and not self._kept_from_start:
            self._reaper = reaper.start(
                self._stack.project, self._stack.target.compose_files, self._options.log_file
            )

    def _mark(self, *, kept: bool) -> None:
        if self._clear_first:
            self._stack.unmark(LABEL)  # a leftover mark of an earlier run
        self._clear_first = True
        owner = Owner.this_process(kept=kept)
        self._stack.mark(marker_name(self._stack.project), owner.labels(self._stack.project))

    def _settled(self) -> None:
        if self._marking is not None:
            with contextlib.suppress(Exception):  # the mark is a courtesy to the next run
                self._marking.result()
            self._marking = None

    def kept(self) -> None:
        """The run ends with the stack up on purpose: mark it kept, stand the reaper down."""
        self._settled()
        if not self._kept_from_start:
            with contextlib.suppress(Exception):
                self._mark(kept=True)
        self._release()

    def removed(self) -> Future[None]:
        """The run is tearing down: clear the mark beside the teardown."""
        self._settled()
        return self._pool.submit(self._stack.unmark, LABEL)

    def _release(self) -> None:
        if self._reaper is not None:
            self._reaper.release()
            self._reaper = None

    def close(self) -> None:
        """The run is over, whatever happened: the reaper stands down."""
        self._settled()
        self._release()
        self._pool.shutdown(wait=True)
