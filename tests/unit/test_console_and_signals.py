"""What a person sees on the console, and how signals become exceptions or are held
off while the stack is removed."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time

import pytest

from smoke import signals
from smoke.report import console as console_module
from smoke.report.console import Console
from smoke.report.errors import Interrupted
from smoke.steps import step_key


class Stream(io.StringIO):
    def __init__(self, encoding: str = "utf-8") -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:
        return self._encoding


def test_step_lines_marks_padding_and_notes() -> None:
    out = Stream()
    console = Console(out, tty=False)
    console.step_done("chat health", 0.123, passed=True, note="db 1 ms")
    console.step_done("teardown", 12.5, passed=False)
    assert out.getvalue().splitlines() == [
        "  ✓ chat health                      0.12s  db 1 ms",
        "  ✗ teardown                        12.50s",
    ]


def test_a_terminal_without_unicode_gets_words() -> None:
    out = Stream("ascii")
    Console(out, tty=False).step_done("x", 1, passed=False)
    Console(out, tty=False).step_done("y", 1, passed=True)
    assert out.getvalue().split() == ["FAIL", "x", "1.00s", "ok", "y", "1.00s"]


def test_colour_on_a_tty_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = Console(Stream(), tty=True)
    assert coloured.ok_mark == "\033[32m✓\033[0m"
    assert coloured.fail_mark == "\033[31m✗\033[0m"
    monkeypatch.setenv("NO_COLOR", "1")
    assert Console(Stream(), tty=True).ok_mark == "✓"


def test_details_are_indented_line_by_line() -> None:
    out = Stream()
    Console(out, tty=False).detail("one\ntwo")
    Console(out, tty=False).detail("")
    assert out.getvalue() == "    one\n    two\n    \n"


def test_progress_on_a_tty_spins_and_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_module, "_TICK_SECONDS", 0.01)
    out = Stream()
    with Console(out, tty=True).progress("compose up"):
        time.sleep(0.1)
    text = out.getvalue()
    assert "\r  ⠋ compose up " in text
    assert text.endswith("\r\033[K")


def test_progress_in_a_log_says_still_running_every_so_often(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(console_module, "_TICK_SECONDS", 0.01)
    monkeypatch.setattr(console_module, "_PLAIN_PROGRESS_EVERY", 0.05)
    out = Stream()
    with Console(out, tty=False).progress("fuzz"):
        time.sleep(0.13)
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["  … fuzz: still running after 0s", "  … fuzz: still running after 0s"]
    assert "\r" not in out.getvalue()


def test_step_keys() -> None:
    assert step_key("chat dependency health (db)") == "chat_dependency_health_db"
    assert step_key("web -> chat proxy call") == "web_chat_proxy_call"
    assert step_key("web page (browser)") == "web_page_browser"


@pytest.mark.parametrize(
    ("sig", "name", "status"),
    [
        (signal.SIGINT, "SIGINT", 130),
        (signal.SIGTERM, "SIGTERM", 143),
        (signal.SIGHUP, "SIGHUP", 129),
    ],
)
def test_signals_become_interrupted_and_handlers_are_restored(
    sig: int, name: str, status: int
) -> None:
    def signalled() -> None:
        with signals.interruptible():
            os.kill(os.getpid(), sig)
            time.sleep(1)  # the handler raises before this ends

    before = signal.getsignal(sig)
    with pytest.raises(Interrupted) as caught:
        signalled()
    assert (caught.value.signal_name, caught.value.exit_code) == (name, status)
    assert signal.getsignal(sig) == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_shielded_blocks_ignore_the_signals(sig: int) -> None:
    with signals.interruptible(), signals.shielded():
        assert sig in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        os.kill(os.getpid(), sig)
        time.sleep(0.15)  # nothing raised, nothing ended


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_a_shield_is_answered_once_and_stops_nothing(sig: int) -> None:
    told: list[str] = []
    with signals.interruptible(), signals.shielded(told.append):
        os.kill(os.getpid(), sig)
        os.kill(os.getpid(), sig)
        deadline = time.monotonic() + 2
        while not told and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.15)
    assert told == [signal.Signals(sig).name]
    assert sig not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # unblocked after


def test_a_child_started_in_a_shield_outlives_a_signal_to_its_group() -> None:
    """What Ctrl-C in a terminal does: the whole process group gets SIGINT. docker's
    own children must finish the teardown."""
    import subprocess

    script = (
        "import os, signal, subprocess, sys, threading, time\n"
        "from smoke import signals\n"
        "with signals.shielded(lambda name: print('told', name, flush=True)):\n"
        "    threading.Timer(0.3, os.killpg, (0, signal.SIGINT)).start()\n"
        "    child = subprocess.run(['sleep', '1'])\n"
        "print('child exit', child.returncode, flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=20,
        start_new_session=True,  # its own group, so the test runner is not signalled
        check=False,
    )
    assert done.stdout.splitlines() == ["told SIGINT", "child exit 0"], done.stderr


def test_off_the_main_thread_nothing_is_installed() -> None:
    seen: list[object] = []

    def work() -> None:
        with signals.interruptible():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before]


class NoEncoding(Stream):
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return ""


class Terminal(Stream):
    def isatty(self) -> bool:
        return True


def test_a_stream_that_names_no_encoding_is_taken_as_ascii() -> None:
    console = Console(NoEncoding(), tty=False)
    assert (console.ok_mark, console.fail_mark) == ("ok", "FAIL")


def test_a_latin1_terminal_gets_words_not_marks_it_cannot_show() -> None:
    console = Console(Stream("latin-1"), tty=False)
    assert (console.ok_mark, console.fail_mark) == ("ok", "FAIL")


def test_whether_it_is_a_terminal_is_asked_of_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Console(Terminal()).tty
    assert not Console(Stream()).tty
    assert not Console(Terminal(), tty=False).tty


def test_an_empty_line_is_empty() -> None:
    out = Stream()
    Console(out, tty=False).line()
    assert out.getvalue() == "\n"


HOSTILE = (
    "a\r::error::cr b\v::x c\f d\u2028::error::ls e\u0085f \x1b[2J\x00 ##[warning]w \u202eevil"
)


def test_service_text_breaks_only_at_newlines_and_shows_every_control_character() -> None:
    out = io.StringIO()
    console = Console(out, tty=False, env={})
    console.detail(HOSTILE + "\nsecond")
    console.line(HOSTILE)
    console.step_done("proxy", 1.0, passed=False, note=HOSTILE)
    shown = (
        r"a\r::error::cr b\v::x c\f d\u2028::error::ls e\x85f \x1b[2J\0 ##\[warning]w \u202eevil"
    )
    assert out.getvalue().split("\n") == [
        f"    {shown}",
        "    second",
        shown,
        f"  {console.fail_mark} proxy                            1.00s  {shown}",
        "",
    ]


def test_a_note_with_newlines_stays_on_its_step_line() -> None:
    out = io.StringIO()
    Console(out, tty=False, env={}).step_done("s", 0.5, passed=True, note="one\n::error::two")
    assert out.getvalue().count("\n") == 1


def test_untrusted_blocks_suspend_workflow_commands_under_github_only() -> None:
    out = io.StringIO()
    console = Console(out, tty=False, env={"GITHUB_ACTIONS": "true"})
    with console.untrusted():
        console.detail("::error::from a service")
    with console.untrusted():
        console.detail("again")
    first, second = out.getvalue().split("\n")[0:3], out.getvalue().split("\n")[3:6]
    token = first[0].removeprefix("::stop-commands::")
    assert len(token) == 32
    assert first[1:] == ["    ::error::from a service", f"::{token}::"]
    assert second[0] != first[0]  # a fresh token each time: a service cannot guess it
    plain = io.StringIO()
    with Console(plain, tty=False, env={}).untrusted():
        Console(plain, tty=False, env={}).detail("x")
    assert plain.getvalue() == "    x\n"


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise OSError("no descriptor")


def test_a_reader_that_goes_away_moves_the_rest_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console = Console(ClosedPipe(), tty=False, env={})
    console.line("PASS  smoke lite")
    console.detail("still said")
    assert capsys.readouterr().err == "PASS  smoke lite\n    still said\n"


def test_a_deadline_raises_timeout_and_puts_everything_back() -> None:
    before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    with pytest.raises(TimeoutError), signals.deadline(0.1):
        time.sleep(2)
    assert time.monotonic() - started < 1
    assert signal.getsignal(signal.SIGALRM) == before
    signal.setitimer(signal.ITIMER_REAL, 0)  # the test runner's own alarm, aside
    with signals.deadline(0.5):
        pass  # done in time: no alarm left behind
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_earlier_alarm_keeps_ticking_after_a_deadline() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with signals.deadline(0.2):
            pass
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 29 < left <= 30
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_no_deadline_without_seconds_or_off_the_main_thread() -> None:
    before = signal.getitimer(signal.ITIMER_REAL)[0]
    with signals.deadline(None):
        assert signal.getitimer(signal.ITIMER_REAL)[0] <= before
    seen: list[tuple[float, float]] = []

    def work() -> None:
        with signals.deadline(0.1):
            seen.append(signal.getitimer(signal.ITIMER_REAL))

    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    finally:
        signal.setitimer(signal.ITIMER_REAL, before)
    assert seen == [(0.0, 0.0)]


def test_when_stderr_is_gone_too_the_rest_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = ClosedPipe()
    monkeypatch.setattr(sys, "stderr", broken)
    console = Console(broken, tty=False, env={})
    console.line("nobody reads this")  # no exception: the run goes on
    console.detail("nor this")


def test_a_signal_during_a_shield_is_never_raised_again_after_it() -> None:
    """A shield's watcher does not outlive it: a Ctrl-C told in one shield is not
    delivered again later, outside any handler, as a KeyboardInterrupt."""
    told: list[str] = []
    for _ in range(20):
        with signals.shielded(told.append):
            os.kill(os.getpid(), signal.SIGINT)
        with signals.shielded():
            pass
    time.sleep(0.2)  # a late re-delivery would raise KeyboardInterrupt by now
    assert told == ["SIGINT"] * 20
