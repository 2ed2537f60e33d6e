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

from .errors import Interrupted

_HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name, exit_code=128 + signum)


@contextlib.contextmanager
def _handlers(handler: _Handler) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals only reach the main thread; nothing to install
        return
    previous = {sig: signal.signal(sig, handler) for sig in _HANDLED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def interruptible() -> contextlib.AbstractContextManager[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP raise ``Interrupted``."""
    return _handlers(_raise_interrupted)


def shielded() -> contextlib.AbstractContextManager[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP are ignored, by compose's child
    too (an ignored signal stays ignored across exec), so teardown finishes."""
    return _handlers(signal.SIG_IGN)


def _raise_timeout(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Within the block, raise ``TimeoutError`` once ``seconds`` have passed (main
    thread only; None: no limit). A child the block waits for through
    ``subprocess.run`` is killed on the way out."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
