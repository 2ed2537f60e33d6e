"""What a person sees: one line per step with ✓ or ✗ and its duration, a progress
indicator while a step runs, and a one-line summary. Plain text when not on a TTY.

Every line passes through ``smoke.masking.neutralise``: text from a service can
neither start a line of its own nor move the cursor. Under GitHub Actions, blocks of
service text (``untrusted()``) are also printed between `::stop-commands::<token>`
and `::<token>::`, so the runner reads no command in them.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import TextIO

from smoke import clock
from smoke.masking import neutralise, split_lines

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_TICK_SECONDS = 0.1
_PLAIN_PROGRESS_EVERY = 10.0  # seconds between "still running" lines in CI logs
_NAME_WIDTH = 30
_TTY_WIDTH = 110  # a progress line stays on one line of an ordinary terminal


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class Console:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.stream = stream or sys.stdout
        self.github = (os.environ if env is None else env).get("GITHUB_ACTIONS") == "true"
        self.tty = self.stream.isatty() if tty is None else tty
        fancy = _can_encode(self.stream, "✓✗" + _SPINNER)
        self.ok_mark, self.fail_mark = ("✓", "✗") if fancy else ("ok", "FAIL")
        if self.tty and "NO_COLOR" not in os.environ:  # https://no-color.org
            self.ok_mark = f"\033[32m{self.ok_mark}\033[0m"
            self.fail_mark = f"\033[31m{self.fail_mark}\033[0m"
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            try:
                self.stream.write(text)
                self.stream.flush()
            except BrokenPipeError:
                # The reader went away (`| head -3`): the run goes on to its verdict and
                # teardown, and says the rest where someone may still read it.
                self._lost_reader()
                self.stream.write(text)
                self.stream.flush()

    def _lost_reader(self) -> None:
        with contextlib.suppress(OSError):  # the interpreter's own last flush must not fail
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        self.stream = sys.stderr if self.stream is not sys.stderr else _Discard()

    def line(self, text: str = "") -> None:
        self._write("".join(f"{line}\n" for line in split_lines(neutralise(text))))

    def detail(self, text: str) -> None:
        # A blank line stays blank: no trailing spaces for a log or a diff to carry.
        lines = split_lines(neutralise(text))
        self._write("".join(f"    {line}\n" if line else "\n" for line in lines))

    def step_done(self, name: str, seconds: float, *, passed: bool, note: str = "") -> None:
        mark = self.ok_mark if passed else self.fail_mark  # ours: the only escapes let through
        text = neutralise(f"{name:<{_NAME_WIDTH}} {seconds:6.2f}s{f'  {note}' if note else ''}")
        self._write(f"  {mark} {' '.join(split_lines(text))}\n")

    def _untrusted(self) -> Iterator[None]:
        """Service text follows: under GitHub Actions the runner is told to read no
        workflow command until this block ends (a fresh token, so none can end it)."""
        if not self.github:
            yield
            return
        token = uuid.uuid4().hex
        self._write(f"::stop-commands::{token}\n")
        try:
            yield
        finally:
            self._write(f"::{token}::\n")

    untrusted = contextlib.contextmanager(_untrusted)  # not @: mutmut skips decorated code

    def _progress(self, name: str) -> Iterator[Progress]:
        """Show that a step is still running, and what it is doing when it says
        (``Progress.say``); cleared before its result line."""
        stop = threading.Event()
        started = clock.monotonic()
        progress = Progress()

        def tick() -> None:
            frame = 0
            next_plain = _PLAIN_PROGRESS_EVERY
            while not clock.wait(stop, _TICK_SECONDS):
                elapsed = clock.monotonic() - started
                doing = neutralise(progress.detail)
                if self.tty:
                    said = f"{_SPINNER[frame % len(_SPINNER)]} {name} {elapsed:5.1f}s"
                    said += f"  {doing}" if doing else ""
                    self._write(f"\r  {said[:_TTY_WIDTH]}\033[K")
                    frame += 1
                elif elapsed >= next_plain:
                    doing = f": {doing}" if doing else ""
                    self.line(f"  … {name}: still running after {elapsed:.0f}s{doing}")
                    next_plain += _PLAIN_PROGRESS_EVERY
            if self.tty:
                self._write("\r\033[K")

        ticker = threading.Thread(target=tick, name=f"progress:{name}", daemon=True)
        ticker.start()
        try:
            yield progress
        finally:
            stop.set()
            ticker.join()

    progress = contextlib.contextmanager(_progress)  # not @: mutmut skips decorated code


class Progress:
    """What a running step says it is doing (e.g. which service it builds), shown
    with its progress line."""

    def __init__(self) -> None:
        self.detail = ""

    def say(self, detail: str) -> None:
        self.detail = detail


class _Discard(io.StringIO):
    """Where output goes when no one reads it any more."""

    def write(self, text: str) -> int:
        return len(text)
