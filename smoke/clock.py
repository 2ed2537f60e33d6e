"""The one clock: every wait, settle, deadline and browser loop of the smoke reads its
time and sleeps on it, and arms its alarms with it.

    monotonic, time, sleep, wait, alarm   the clock in use (the system's)
    using(clock)                    another clock within a block: a test's fake

``FakeClock`` is the tests' clock, in the spirit of stamina's test mode: time moves
only when something sleeps on it, at once, so no test really waits and none depends
on how loaded the machine is. Work on other threads (a server, a subprocess) still
takes real time; only the smoke's own waiting is faked.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import threading
import time as system_time
from collections.abc import Iterator


class Clock:
    """The system's clock."""

    def monotonic(self) -> float:
        return system_time.monotonic()

    def time(self) -> float:
        return system_time.time()

    def sleep(self, seconds: float) -> None:
        system_time.sleep(max(0.0, seconds))

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Until ``event`` is set (True) or ``seconds`` have passed (False)."""
        return event.wait(seconds)

    def alarm(self, seconds: float) -> float:
        """SIGALRM in ``seconds`` (0: none); returns what was left of an earlier one."""
        earlier, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
        return earlier


class FakeClock(Clock):
    """Time that moves only when something sleeps on it. A thread waiting on it
    (``wait``) gets its turn at its own time, in order, while a sleep passes over it;
    an alarm goes off (its SIGALRM handler called) in the main thread's sleep that
    reaches it."""

    def __init__(self, *, start: float = 1_000.0, wall: float = 1_800_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall - start
        self._alarm_at: float | None = None
        self._moved = threading.Condition()
        self._waiting: dict[int, float] = {}  # each waiter's turn: its deadline
        self._tokens = itertools.count()
        #: Every sleep asked for, in order: what a test can assert about backoff.
        self.slept: list[float] = []

    def monotonic(self) -> float:
        with self._moved:
            return self._now

    def time(self) -> float:
        with self._moved:
            return self._now + self._wall_offset

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        with self._moved:
            self.slept.append(seconds)
            woken = self._now + seconds
            alarm_at = self._alarm_at
        on_main = threading.current_thread() is threading.main_thread()
        if on_main and alarm_at is not None and alarm_at <= woken:
            # A real alarm cuts the sleep short: time moves to it, its handler runs.
            self.advance(alarm_at - self.monotonic())
            with self._moved:
                self._alarm_at = None
            handler = signal.getsignal(signal.SIGALRM)
            if callable(handler):
                handler(signal.SIGALRM, None)
        self.advance(woken - self.monotonic())
        system_time.sleep(0)  # let other threads run, as a real sleep would

    def advance(self, seconds: float) -> None:
        """Time passes; each waiter whose time comes meanwhile runs its turn first."""
        with self._moved:
            target = self._now + max(0.0, seconds)
            for _ in range(_MAX_TURNS):
                due = [(at, token) for token, at in self._waiting.items() if at <= target]
                if not due:
                    break
                at, token = min(due)
                self._now = max(self._now, at)
                self._moved.notify_all()
                # Its turn: until it waits again (or, if it stops, a moment at most).
                ends = system_time.monotonic() + _TURN_SECONDS
                while not any(t > token for t in self._waiting):
                    if system_time.monotonic() >= ends:
                        break
                    self._moved.wait(0.005)
            self._now = max(self._now, target)
            self._moved.notify_all()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        with self._moved:
            token = next(self._tokens)
            deadline = self._now + seconds
            self._waiting[token] = deadline
            self._moved.notify_all()  # a sleep waiting for this thread's turn to end
        try:
            # The event is seen at once; the time, within a real millisecond.
            while not event.wait(0.001):
                with self._moved:
                    if self._now >= deadline:
                        return False
            return True
        finally:
            with self._moved:
                del self._waiting[token]
                self._moved.notify_all()

    def alarm_left(self) -> float | None:
        """How long until the alarm goes off; None: none is set."""
        with self._moved:
            return None if self._alarm_at is None else self._alarm_at - self._now

    def alarm(self, seconds: float) -> float:
        with self._moved:
            earlier = 0.0 if self._alarm_at is None else max(0.0, self._alarm_at - self._now)
            self._alarm_at = self._now + seconds if seconds > 0 else None
        return earlier


#: Bounds on a fake sleep's handing of turns to waiters (a waiter that stops waiting).
_MAX_TURNS = 100_000
_TURN_SECONDS = 0.2


_current: Clock = Clock()


def monotonic() -> float:
    return _current.monotonic()


def time() -> float:
    return _current.time()


def sleep(seconds: float) -> None:
    _current.sleep(seconds)


def wait(event: threading.Event, seconds: float) -> bool:
    return _current.wait(event, seconds)


def alarm(seconds: float) -> float:
    return _current.alarm(seconds)


def _using(clock: Clock) -> Iterator[Clock]:
    """``clock`` for everything the smoke times within the block."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous


using = contextlib.contextmanager(_using)  # not @: mutmut skips decorated code
