"""Turn SIGINT, SIGTERM and SIGHUP into an exception while checks run, and shield
teardown from them, so every path out of a run still removes the stack.

SIGHUP is what a closed terminal or a dropped SSH session sends: it is handled like
SIGTERM. Deaths no handler sees (kill -9, a crash) are the reaper's job.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from smoke import clock
from smoke.errors import Interrupted

_HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Sent to the shield's watcher thread alone, to end its wait at once.
_WAKE = signal.SIGUSR2
_WATCH_SECONDS = 1.0  # a bound only: the watcher is woken when the shield ends
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name, exit_code=128 + signum)


def _handlers_body(handler: _Handler) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals only reach the main thread; nothing to install
        return
    previous = {sig: signal.signal(sig, handler) for sig in _HANDLED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


_handlers = contextlib.contextmanager(_handlers_body)  # not @: mutmut skips decorated code


def interruptible() -> contextlib.AbstractContextManager[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP raise ``Interrupted``."""
    return _handlers(_raise_interrupted)


def _shielded(on_signal: Callable[[str], None] | None = None) -> Iterator[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP do not stop the work, nor docker's
    children, so teardown finishes: they are blocked in this thread, and a blocked
    signal stays blocked across exec. ``on_signal`` is told the first one's name at
    once, by a watcher thread (or by the handler, should another thread take it)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals only reach the main thread; nothing to install
        return
    shield = _Shield(on_signal)
    with _handlers(shield.handle):
        before = signal.pthread_sigmask(signal.SIG_BLOCK, (*_HANDLED, _WAKE))
        watcher = threading.Thread(target=shield.watch, name="shield", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            # The watcher is woken and joined while the signals are still blocked, so
            # none is left to a watcher that outlives it; one still pending is
            # delivered as the mask is put back, to this shield's handler, still
            # installed: every signal that came during the shield is its, told once.
            shield.done.set()
            if watcher.ident is not None:
                signal.pthread_kill(watcher.ident, _WAKE)
            watcher.join()
            signal.pthread_sigmask(signal.SIG_SETMASK, before)


shielded = contextlib.contextmanager(_shielded)  # not @: mutmut skips decorated code


class _Shield:
    def __init__(self, on_signal: Callable[[str], None] | None) -> None:
        self._on_signal = on_signal
        self._told = threading.Lock()  # held once told: one line, however many signals
        self.done = threading.Event()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self._tell(signum)

    def watch(self) -> None:
        while not self.done.is_set():
            got = signal.sigtimedwait((*_HANDLED, _WAKE), _WATCH_SECONDS)
            if got is not None and got.si_signo != _WAKE:
                self._tell(got.si_signo)

    def _tell(self, signum: int) -> None:
        told_now = self._told.acquire(blocking=False)
        if told_now and self._on_signal is not None:
            self._on_signal(signal.Signals(signum).name)


def _raise_timeout(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError


def _deadline(seconds: float | None) -> Iterator[None]:
    """Within the block, raise ``TimeoutError`` once ``seconds`` have passed (main
    thread only; None: no limit). A child the block waits for through
    ``subprocess.run`` is killed on the way out."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    started = clock.monotonic()
    earlier = clock.alarm(seconds)
    try:
        yield
    finally:
        clock.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if earlier:  # someone else's alarm (a test runner's, say): it goes on ticking
            left = earlier - (clock.monotonic() - started)
            clock.alarm(max(left, 0.001))


deadline = contextlib.contextmanager(_deadline)  # not @: mutmut skips decorated code
