"""What a person sees on the console: step lines, progress, details, service text made
safe, a reader that goes away."""

from __future__ import annotations

import io
import sys

import pytest

from smoke import clock
from smoke.outcome import step_key
from smoke.report import console as console_module
from smoke.report.console import Console


class Stream(io.StringIO):
    def __init__(self, encoding: str = "utf-8") -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:
        return self._encoding


class NoEncoding(Stream):
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return ""


class Terminal(Stream):
    def isatty(self) -> bool:
        return True


HOSTILE = (
    "a\r::error::cr b\v::x c\f d\u2028::error::ls e\u0085f \x1b[2J\x00 ##[warning]w \u202eevil"
)


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise OSError("no descriptor")


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


def test_details_are_indented_line_by_line_and_blank_lines_stay_blank() -> None:
    out = Stream()
    Console(out, tty=False).detail("one\n\ntwo")
    Console(out, tty=False).detail("")
    assert out.getvalue() == "    one\n\n    two\n\n"


def test_progress_on_a_tty_spins_and_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_module, "_TICK_SECONDS", 0.01)
    out = Stream()
    with Console(out, tty=True).progress("compose up"):
        clock.sleep(0.1)
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
        clock.sleep(0.13)
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["  … fuzz: still running after 0s", "  … fuzz: still running after 0s"]
    assert "\r" not in out.getvalue()


def test_step_keys() -> None:
    assert step_key("chat dependency health (db)") == "chat_dependency_health_db"
    assert step_key("web -> chat proxy call") == "web_chat_proxy_call"
    assert step_key("web page (browser)") == "web_page_browser"


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


def test_a_reader_that_goes_away_moves_the_rest_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console = Console(ClosedPipe(), tty=False, env={})
    console.line("PASS  smoke lite")
    console.detail("still said")
    assert capsys.readouterr().err == "PASS  smoke lite\n    still said\n"


def test_when_stderr_is_gone_too_the_rest_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = ClosedPipe()
    monkeypatch.setattr(sys, "stderr", broken)
    console = Console(broken, tty=False, env={})
    console.line("nobody reads this")  # no exception: the run goes on
    console.detail("nor this")


def test_progress_says_what_the_step_is_doing_when_it_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(console_module, "_TICK_SECONDS", 0.01)
    monkeypatch.setattr(console_module, "_PLAIN_PROGRESS_EVERY", 0.05)
    out = Stream()
    with Console(out, tty=False).progress("compose up") as progress:
        progress.say("building chat: step 2/7 of stage-2, RUN uv pip install")
        clock.sleep(0.06)
    assert "  … compose up: still running after 0s: building chat: step 2/7 of stage-2, " in (
        out.getvalue()
    )
    tty = Stream()
    with Console(tty, tty=True).progress("compose up") as progress:
        progress.say("building web: step 1/6, FROM python \x1b[2J" + "x" * 200)
        clock.sleep(0.01)
    shown = tty.getvalue().split("\r")[1]
    assert "compose up" in shown
    assert "building web: step 1/6, FROM python \\x1b[2J" in shown  # neutralised
    assert len(shown) <= console_module._TTY_WIDTH + len("  \033[K")  # one terminal line


def test_a_pipe_whose_reader_went_away_is_pointed_at_devnull_so_a_last_flush_cannot_fail(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import os
    import signal

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away (`| head -3`)
    stream = os.fdopen(write_end, "w")
    previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python sets it
    try:
        console = Console(stream, tty=False, env={})
        console.line("PASS  smoke lite")
        os.write(write_end, b"the interpreter's own last flush\n")  # no EPIPE any more
        assert capsys.readouterr().err == "PASS  smoke lite\n"
    finally:
        signal.signal(signal.SIGPIPE, previous)
        stream.close()
