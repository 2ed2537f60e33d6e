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
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

LABEL = "io.contoso-smoke.run"  # value: the project
_PID = "io.contoso-smoke.owner-pid"
_PROCESS_START = "io.contoso-smoke.owner-start"
_HOST = "io.contoso-smoke.owner-host"
_STARTED_AT = "io.contoso-smoke.started-at"
_KEPT = "io.contoso-smoke.kept"
#: A value no other claim has: whoever finds its own on the mark holds the project.
CLAIM_TOKEN = "io.contoso-smoke.claim"


def marker_name(project: str) -> str:
    return f"{project}_smoke-run"


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
            LABEL: project,
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


Claim = Literal["free", "kept", "stale", "in use"]


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    owner: Owner | None = None


def judge(
    owner: Owner | None,
    *,
    stack_exists: bool,
    now: datetime,
    max_run_seconds: float,
) -> Verdict:
    """What to make of another run's mark on the project. A live owner holds the
    project, whether or not its stack exists yet (it may be starting it now); a dead
    one's kept stack is reused, its other stack is stale; a mark without a stack is a
    leftover (the stack was removed by hand): the project is free."""
    if owner is None:  # an unreadable mark owns nothing
        return Verdict("kept" if stack_exists else "free")
    alive = owner.alive()
    if alive is None:  # another host: a run cannot have lasted longer than its budget
        alive = not owner.kept and (now - owner.started_at).total_seconds() < max_run_seconds
    if alive:
        return Verdict("in use", owner)
    if not stack_exists:
        return Verdict("free", owner)
    return Verdict("kept" if owner.kept else "stale", owner)
