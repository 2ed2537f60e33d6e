"""Who owns a stack: each run claims its project with a small volume whose labels name
the owning process, when it started, and whether the stack is to be kept.

The claim is atomic: the engine creates a volume of a given name once, and a second
create of that name returns the first one, labels and all. So of two runs that claim
at the same instant, exactly one finds its own labels on the mark; the other finds the
first's and stops (exit 2) before it has created anything.

A mark found from an earlier run is judged: a stack whose owner still runs is another
run's; a kept stack is reused; a stack whose owner died without tearing down and
without a reaper to do it (the machine rebooted, the reaper was off) is stale: it is
named, then removed. Compose's own labels cannot carry this: changing a container's
labels would make compose recreate a kept stack.

A run's claim on its project: taken before anything is created, held while the run
works, with a reaper standing by in case the run dies before its own teardown.

Before ``up``: the project is claimed atomically (``propose``). Of two runs
started at the same instant exactly one gets it; the other stops with exit 2 and
touches nothing. A mark left by an earlier run is judged: a kept stack is reused, a
stale one (its run died with no reaper) is named and removed once this run holds the
project. Beside ``up`` the reaper is started. At the end: the mark turns "kept", or
is removed once the stack is gone, and the reaper stands down.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

from smoke.errors import ProjectInUse
from smoke.masking import Masker
from smoke.stack import marks
from smoke.stack import reaper as reaper_module
from smoke.stack.client import ENGINE_ERRORS, edge, edge_methods
from smoke.stack.compose import Stack
from smoke.stack.logs import save_logs
from smoke.stack.marks import MARK_LABEL
from smoke.stack.teardown import remove_stack

_PID = "io.contoso-smoke.owner-pid"
_PROCESS_START = "io.contoso-smoke.owner-start"
_HOST = "io.contoso-smoke.owner-host"
_STARTED_AT = "io.contoso-smoke.started-at"
_KEPT = "io.contoso-smoke.kept"
#: A value no other claim has: whoever finds its own on the mark holds the project.
CLAIM_TOKEN = "io.contoso-smoke.claim"


class Lines(Protocol):
    """Where the claim says what it found (the run's console)."""

    def line(self, text: str = "") -> None: ...


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), so a PID the
    kernel has handed to another process is not taken for the owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the name


@dataclass(frozen=True)
class Owner:
    pid: int
    process_start: str
    host: str
    started_at: datetime
    kept: bool

    @classmethod
    def this_process(cls, *, kept: bool) -> Owner:
        pid = os.getpid()
        return cls(pid, _process_start(pid), socket.gethostname(), datetime.now(UTC), kept)

    def labels(self, project: str) -> dict[str, str]:
        return {
            MARK_LABEL: project,
            _PID: str(self.pid),
            _PROCESS_START: self.process_start,
            _HOST: self.host,
            _STARTED_AT: self.started_at.isoformat(timespec="seconds"),
            _KEPT: "1" if self.kept else "0",
        }

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> Owner | None:
        try:
            return cls(
                pid=int(labels[_PID]),
                process_start=labels.get(_PROCESS_START, ""),
                host=labels.get(_HOST, ""),
                started_at=datetime.fromisoformat(labels[_STARTED_AT]),
                kept=labels.get(_KEPT) == "1",
            )
        except (KeyError, ValueError):
            return None

    def alive(self) -> bool | None:
        """Whether the owning process still runs; None when it is on another host."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # it exists, as another user's
        start = _process_start(self.pid)
        return not (self.process_start and start and start != self.process_start)

    def describe(self) -> str:
        when = self.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        return f"started {when} by PID {self.pid} on {self.host}"


#: What a mark found on the project means for this run.
Standing = Literal["free", "kept", "stale", "in use"]


@dataclass(frozen=True)
class Judgement:
    standing: Standing
    owner: Owner | None = None


def judge(
    owner: Owner | None,
    *,
    stack_exists: bool,
    now: datetime,
    max_run_seconds: float,
) -> Judgement:
    """What to make of another run's mark on the project. A live owner holds the
    project, whether or not its stack exists yet (it may be starting it now); a dead
    one's kept stack is reused, its other stack is stale; a mark without a stack is a
    leftover (the stack was removed by hand): the project is free."""
    if owner is None:  # an unreadable mark owns nothing
        return Judgement("kept" if stack_exists else "free")
    alive = owner.alive()
    if alive is None:  # another host: a run cannot have lasted longer than its budget
        alive = not owner.kept and (now - owner.started_at).total_seconds() < max_run_seconds
    if alive:
        return Judgement("in use", owner)
    if not stack_exists:
        return Judgement("free", owner)
    return Judgement("kept" if owner.kept else "stale", owner)


#: Claim, and once more after removing a dead run's mark; a third owner means the
#: project is contended.
_ATTEMPTS = 2


Proposal = tuple[dict[str, str], dict[str, str]]
"""(the labels this run wrote on the mark, the labels the mark carries)"""


def _propose(stack: Stack, *, kept: bool) -> Proposal:
    """Try to claim the project: create its mark with this run's labels and read back
    whose labels it carries. Safe to run beside the other checks before ``up``."""
    mine = Owner.this_process(kept=kept).labels(stack.project)
    mine[CLAIM_TOKEN] = uuid.uuid4().hex
    return mine, marks.claim_mark(stack, mine)


propose = edge(_propose)  # not @: mutmut skips decorated code


def _claim(
    stack: Stack,
    console: Lines,
    *,
    stack_exists: bool,
    max_run_seconds: float,
    kept: bool = False,
    first: Future[Proposal] | None = None,
    log_file: Path | None = None,
) -> bool:
    """Claim the project for this run before anything is created (``first``: a
    proposal already made beside the other checks). Returns whether a stack found in
    the project is reused (a kept one, or one made by hand). A stale stack's logs are
    saved beside ``log_file`` before it is removed.

    Raises ``ProjectInUse`` when another live run holds the project.
    """
    stale = False
    for attempt in range(_ATTEMPTS):
        try:
            mine, found = (
                first.result() if first is not None and attempt == 0 else propose(stack, kept=kept)
            )
        except ENGINE_ERRORS as exc:
            console.line(
                f"smoke: warning: could not mark project {stack.project} as this run's "
                f"(`docker volume create` exited {exc.return_code}); a run started "
                "meanwhile will not see this one, and one started after a crash will not "
                "know whose stack it finds"
            )
            return stack_exists
        if found.get(CLAIM_TOKEN) == mine[CLAIM_TOKEN]:
            if stale:
                _save_stale_logs(stack, console, log_file)
                remove_stack(stack, mark=False)  # the mark is this run's now
            return stack_exists and not stale
        verdict = judge(
            Owner.from_labels(found),
            stack_exists=stack_exists,
            now=datetime.now(UTC),
            max_run_seconds=max_run_seconds,
        )
        if verdict.standing == "in use" and verdict.owner is not None:
            raise _in_use(stack, verdict.owner.describe())
        if verdict.standing == "stale" and verdict.owner is not None:
            stale = True
            console.line(
                f"smoke: stale stack of project {stack.project} ({verdict.owner.describe()}; "
                "that run died with no reaper to remove it): removing it"
            )
        marks.remove_mark(stack)  # a finished run's: take it over
    raise _in_use(stack, "another run took it over at the same moment")


claim = edge(_claim)  # not @: mutmut skips decorated code


def _save_stale_logs(stack: Stack, console: Lines, log_file: Path | None) -> None:
    if log_file is None:
        return
    path = log_file.with_name(f"{log_file.stem}.stale{log_file.suffix}")
    if save_logs(stack, path, Masker(stack.secrets())):
        console.line(f"smoke: the stale stack's logs, saved before its removal: {path}")


def _in_use(stack: Stack, who: str) -> ProjectInUse:
    return ProjectInUse(
        f"project {stack.project} is in use by a running smoke ({who})",
        hint="wait for it to finish, or give this run another --project",
    )


@edge_methods
class Claim:
    """This run's mark and reaper, once the project is claimed."""

    def __init__(
        self, stack: Stack, *, kept: bool, reaper: bool, log_file: Path, console: Lines
    ) -> None:
        self._stack = stack
        self._kept_from_start = kept
        self._wants_reaper = reaper
        self._log_file = log_file
        self._console = console
        self._reaper: reaper_module.Reaper | None = None

    def start(self) -> None:
        """Beside ``up``: unless the stack is kept, start a reaper."""
        if self._wants_reaper and not self._kept_from_start:
            target = self._stack.target
            self._reaper = reaper_module.start(
                target.project,
                target.compose_files,
                self._log_file,
                secret_names=target.secret_names,
                profiles=target.profiles,
                env_files=target.env_files,
            )

    def kept(self) -> None:
        """The run ends with the stack up on purpose: mark it kept, stand the reaper down."""
        if not self._kept_from_start:
            try:
                marks.remove_mark(self._stack)
                marks.claim_mark(
                    self._stack, Owner.this_process(kept=True).labels(self._stack.project)
                )
            except ENGINE_ERRORS as exc:  # the mark is a courtesy to the next run
                self._console.line(
                    f"smoke: warning: could not mark the stack of project {self._stack.project} "
                    f"as kept (`docker volume` exited {exc.return_code}); the next run will "
                    "not know it was kept on purpose and may remove it as stale"
                )
        self._release()

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
