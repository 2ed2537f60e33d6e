"""A run's claim on its project: taken before anything is created, held while the run
works, with a reaper standing by in case the run dies before its own teardown.

Before ``up``: the project is claimed atomically (``smoke.ownership``). Of two runs
started at the same instant exactly one gets it; the other stops with exit 2 and
touches nothing. A mark left by an earlier run is judged: a kept stack is reused, a
stale one (its run died with no reaper) is named and removed once this run holds the
project. Beside ``up`` the reaper is started. At the end: the mark turns "kept", or
is removed once the stack is gone, and the reaper stands down.
"""

from __future__ import annotations

import contextlib
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from python_on_whales.exceptions import DockerException

from . import reaper
from .console import Console
from .errors import ProjectInUse
from .options import FuzzOptions, RunOptions
from .ownership import CLAIM_TOKEN, Owner, judge, marker_name
from .stack import Stack
from .teardown import remove_stack

#: Claim, and once more after removing a dead run's mark; a third owner means the
#: project is contended.
_ATTEMPTS = 2


Proposal = tuple[dict[str, str], dict[str, str]]
"""(the labels this run wrote on the mark, the labels the mark carries)"""


def propose(stack: Stack, *, kept: bool) -> Proposal:
    """Try to claim the project: create its mark with this run's labels and read back
    whose labels it carries. Safe to run beside the other checks before ``up``."""
    mine = Owner.this_process(kept=kept).labels(stack.project)
    mine[CLAIM_TOKEN] = uuid.uuid4().hex
    return mine, stack.claim_mark(marker_name(stack.project), mine)


def claim(
    stack: Stack,
    console: Console,
    *,
    stack_exists: bool,
    max_run_seconds: float,
    kept: bool = False,
    first: Future[Proposal] | None = None,
) -> bool:
    """Claim the project for this run before anything is created (``first``: a
    proposal already made beside the other checks). Returns whether a stack found in
    the project is reused (a kept one, or one made by hand).

    Raises ``ProjectInUse`` when another live run holds the project.
    """
    stale = False
    for attempt in range(_ATTEMPTS):
        try:
            mine, found = (
                first.result() if first is not None and attempt == 0 else propose(stack, kept=kept)
            )
        except DockerException as exc:
            console.line(
                f"smoke: warning: could not mark project {stack.project} as this run's "
                f"(`docker volume create` exited {exc.return_code}); a run started "
                "meanwhile will not see this one, and one started after a crash will not "
                "know whose stack it finds"
            )
            return stack_exists
        if found.get(CLAIM_TOKEN) == mine[CLAIM_TOKEN]:
            if stale:
                remove_stack(stack)
            return stack_exists and not stale
        verdict = judge(
            Owner.from_labels(found),
            stack_exists=stack_exists,
            now=datetime.now(UTC),
            max_run_seconds=max_run_seconds,
        )
        if verdict.claim == "in use" and verdict.owner is not None:
            raise _in_use(stack, verdict.owner.describe())
        if verdict.claim == "stale" and verdict.owner is not None:
            stale = True
            console.line(
                f"smoke: stale stack of project {stack.project} ({verdict.owner.describe()}; "
                "that run died with no reaper to remove it): removing it"
            )
        stack.remove_mark(marker_name(stack.project))  # a finished run's: take it over
    raise _in_use(stack, "another run took it over at the same moment")


def _in_use(stack: Stack, who: str) -> ProjectInUse:
    return ProjectInUse(
        f"project {stack.project} is in use by a running smoke ({who})",
        hint="wait for it to finish, or give this run another --project",
    )


class Claim:
    """This run's mark and reaper, once the project is claimed."""

    def __init__(self, stack: Stack, options: RunOptions | FuzzOptions) -> None:
        self._stack = stack
        self._options = options
        self._kept_from_start = isinstance(options, RunOptions) and options.keep == "always"
        self._reaper: reaper.Reaper | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claim")

    def start(self) -> None:
        """Beside ``up``: unless the stack is kept, start a reaper."""
        if self._options.reaper and not self._kept_from_start:
            target = self._stack.target
            self._reaper = reaper.start(
                target.project,
                target.compose_files,
                self._options.log_file,
                secret_names=target.secret_names,
            )

    def kept(self) -> None:
        """The run ends with the stack up on purpose: mark it kept, stand the reaper down."""
        if not self._kept_from_start:
            name = marker_name(self._stack.project)
            with contextlib.suppress(DockerException):  # the mark is a courtesy to the next run
                self._stack.remove_mark(name)
                labels = Owner.this_process(kept=True).labels(self._stack.project)
                self._stack.claim_mark(name, labels)
        self._release()

    def removed(self) -> Future[None]:
        """The stack is gone: give the project up. Only now, so a run that claims it
        next can never see this run's teardown remove its stack."""
        return self._pool.submit(self._stack.remove_mark, marker_name(self._stack.project))

    def _release(self) -> None:
        if self._reaper is not None:
            self._reaper.release()
            self._reaper = None

    def close(self, *, release: bool = True) -> None:
        """The run is over. The reaper stands down, unless ``release`` is False: the
        run never got to its teardown, so the reaper removes the stack once this
        process is gone."""
        if release:
            self._release()
        self._pool.shutdown(wait=True)
