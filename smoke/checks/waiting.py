"""Every wait of the smoke: one deadline-and-backoff iterator, and the engine's view
that a failing wait consults.

Waits poll at short intervals against a deadline: no fixed sleeps, so a check passes
as soon as the service is ready and fails as soon as the deadline is hit. While a
wait keeps failing it asks the engine, sparingly, what it knows of the service's
container, so the failure says what is true: exited (with its exit code),
crash-looping, healthy yet unreachable from here, or simply not ready in time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx

from smoke import clock
from smoke.errors import PortUnavailable, ServiceCrashed, Unreachable
from smoke.masking import excerpt

if TYPE_CHECKING:
    from smoke.stack.state import Listening, ServiceState

# Readiness polls start fast and back off, so a ready service is noticed within a
# fraction of a second while a slow one is not flooded with requests.
POLL_FIRST = 0.05
POLL_MAX = 0.1
POLL_BACKOFF = 1.5
# The engine is asked only once a wait has failed this long, then at most this
# often: a healthy warm run never pays for it.
ENGINE_AFTER_SECONDS = 1.5
ENGINE_EVERY_SECONDS = 1.0
#: Restarts after which a container counts as crash-looping.
CRASH_LOOP_RESTARTS = 3
#: A container killed (137) under a memory limit: the engine may flag the OOM kill a
#: moment after the exit (its OOM event comes apart from the exit's, later on a loaded
#: machine); asked again, as a wait polls, for at most this long.
OOM_FLAG_SECONDS = 2.0
#: Healthy, nothing on its port and something on another, this long: its app listens
#: elsewhere (not an app still opening its port).
ELSEWHERE_SECONDS = 2.0


@dataclass(frozen=True)
class Attempt:
    """One try of a wait: how long the wait has run, and how long it has left."""

    number: int
    started: float
    deadline: float

    def elapsed_now(self) -> float:
        return clock.monotonic() - self.started

    def remaining_now(self) -> float:
        return self.deadline - clock.monotonic()


def attempts(timeout: float) -> Iterator[Attempt]:
    """Tries until ``timeout`` seconds have passed, the pauses between them backing off
    from ``POLL_FIRST`` to ``POLL_MAX``. The caller returns (or breaks) once a try
    succeeds; when the iterator ends, the deadline has come: the caller says so.
    In the style of stamina's ``retry_context``: one owner of backoff and deadline."""
    started = clock.monotonic()
    deadline = started + timeout
    pause = POLL_FIRST
    number = 0
    while True:
        number += 1
        yield Attempt(number, started, deadline)
        if clock.monotonic() + pause >= deadline:
            return
        clock.sleep(pause)
        pause = min(POLL_MAX, pause * POLL_BACKOFF)


@dataclass(frozen=True)
class Seen:
    """The last thing a wait saw, for the failure message."""

    status: int | None
    body: str

    def describe(self) -> str:
        if self.status is None:
            return self.body
        return f"HTTP {self.status}: {excerpt(self.body)}" if self.body else f"HTTP {self.status}"


class Watcher(Protocol):
    def state(self, service: str) -> ServiceState | None:
        """What the engine says of the service's container; None if it has none."""
        ...

    def listening(self, service: str) -> Listening | None:
        """Where the service listens on its port inside its container; None: unknown."""
        ...

    def url(self, service: str) -> str:
        """Where the service's port is published, as this machine reaches it."""
        ...


class EngineView:
    """The engine's view of the services behind one wait, asked for sparingly.

    The first service is the one probed over HTTP; the others are what it depends
    on (db behind chat's dependency check), watched only for exits and crash loops.
    A failed connection is "unreachable" only on evidence: the same container still
    running and healthy, listening inside, and published where the smoke looks.
    Anything less is what the engine says, or a service not ready yet.
    """

    def __init__(self, watcher: Watcher | None, *services: str) -> None:
        self._watcher = watcher
        self._services = services
        self._next_ask = ENGINE_AFTER_SECONDS
        self._last: dict[str, ServiceState] = {}
        self._exit_codes: dict[str, int | None] = {}
        #: The probed service's state when the engine last said it is healthy.
        self._healthy: ServiceState | None = None
        #: The evidence for "unreachable" held once; a second failure confirms it.
        self._suspected = False
        #: When the probed service was first seen healthy and listening elsewhere only.
        self._elsewhere_since: float | None = None

    def consult(
        self, elapsed: float, *, could_not_connect: bool, where: str, dropped: bool = False
    ) -> None:
        """Raise what the engine makes certain, else return and let the wait go on.
        ``dropped``: the published port took the connection and dropped it unanswered
        (what the engine's port proxy does when nothing in the container takes it)."""
        if self._watcher is None:
            return
        if not could_not_connect:
            self._suspected = False
        if (could_not_connect or dropped) and self._healthy is not None:
            self._judge_unreachable(self._watcher, where, dropped=dropped)
            self._next_ask = 0.0  # not reachable after all: what does the engine say now?
        if elapsed < self._next_ask:
            return
        self._next_ask = elapsed + ENGINE_EVERY_SECONDS
        for service in self._services:
            state = self._watcher.state(service)
            if state is None:
                continue
            self._last[service] = state
            if state.gone_for_good:
                state = self._oom_flag(service, state)
                raise ServiceCrashed(
                    f"{service} {state.ending()} and no restart policy will bring it back "
                    f"(after {elapsed:.1f}s)",
                    services=(service,),
                )
            if state.status != "running":  # a running container's exit code is reset to 0
                self._exit_codes[service] = state.exit_code
            if state.restarts >= CRASH_LOOP_RESTARTS:
                code = self._exit_codes.get(service)
                exit_said = "" if code is None else f", last exit code {code}"
                raise ServiceCrashed(
                    f"{service} is crash-looping: restarted {state.restarts} times{exit_said} "
                    f"(after {elapsed:.1f}s)",
                    services=(service,),
                )
        seen = self._last.get(self._services[0])
        healthy = seen is not None and (seen.status, seen.health) == ("running", "healthy")
        self._healthy = seen if healthy else None

    def _oom_flag(self, service: str, state: ServiceState) -> ServiceState:
        """A SIGKILL under a memory limit, not flagged as an OOM kill yet: the engine is
        asked again until it flags one, for ``OOM_FLAG_SECONDS`` at most; only what it
        says of the same run counts."""
        if self._watcher is None or state.exit_code != 137 or state.oom_killed:
            return state
        if not state.memory_limit:
            return state
        for _ in attempts(OOM_FLAG_SECONDS):
            later = self._watcher.state(service)
            if later is None or not later.same_run_as(state):
                return state  # removed, or started again: the kill stays as it was seen
            if later.oom_killed:
                return later
        return state

    def _judge_unreachable(self, watcher: Watcher, where: str, *, dropped: bool = False) -> None:
        """Unreachable, if the evidence is whole; else return (the wait goes on)."""
        probed, before = self._services[0], self._healthy
        now = watcher.state(probed)
        if now is None or before is None or now.status != "running":
            return
        if not now.same_run_as(before) or now.health != "healthy":
            return  # restarted, or no longer healthy: not a network problem
        listening = watcher.listening(probed)
        if listening == "loopback":  # its healthcheck, from inside, passes; no one else can
            raise Unreachable(
                f"{probed} listens only on its loopback address inside its container, so "
                f"nothing outside the container can reach it (the smoke tried {where})",
                services=(probed,),
                hint=f"make {probed} listen on 0.0.0.0 (every address) inside its container",
            )
        if listening == "elsewhere":
            self._listening_elsewhere(probed)
            return
        self._elsewhere_since = None
        if listening != "anywhere" or dropped:
            # Not listening yet (a loose healthcheck passes before the app listens), it
            # cannot be told, or a dropped connection (the app's own doing, maybe): wait.
            return
        try:
            published = httpx.URL(watcher.url(probed)).netloc.decode()
        except PortUnavailable:
            return
        if published != where:
            return  # published elsewhere now: the wait looks there next
        if not self._suspected:
            # It may have begun to listen just after the failed connection: the next
            # attempt, made knowing it listens, must fail too.
            self._suspected = True
            return
        raise Unreachable(
            f"{probed} is running and healthy in the engine, but the smoke cannot reach it "
            f"at {where} (it listens in its container, and its port is published there)",
            services=(probed,),
        )

    def _listening_elsewhere(self, probed: str) -> None:
        """Healthy, nothing on its port, something on another: said once it has held
        for ``ELSEWHERE_SECONDS`` (an app that opens another port first gets that)."""
        now = clock.monotonic()
        if self._elsewhere_since is None:
            self._elsewhere_since = now
        if now - self._elsewhere_since < ELSEWHERE_SECONDS:
            return
        raise Unreachable(
            f"nothing listens on {probed}'s port inside its container, while another port "
            f"there does (for {now - self._elsewhere_since:.1f} s, {probed} healthy)",
            services=(probed,),
            hint=f"{probed}'s app listens on another port than the one its compose service "
            "publishes (its healthcheck checks that other port): make them one",
        )

    def describe(self) -> str:
        said = "; ".join(f"{name} is {state.describe()}" for name, state in self._last.items())
        return f"; the engine says {said}" if said else ""
