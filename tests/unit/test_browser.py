"""The browser step's judgement, with a page stood in for: what counts as a person
hitting a problem, and how long it waits. The real Chromium runs are in
tests/services/test_browser.py and tests/integration/test_browser_faults.py."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from smoke import clock
from smoke.checks import browser
from smoke.checks.browser import Browser, _ask, _save, find_browser
from smoke.checks.watch import Watch
from smoke.errors import BrowserCheckFailed, ToolMissing


class FakeLocator:
    def __init__(self, page: FakePage, name: str) -> None:
        self.page, self.name = page, name

    @property
    def first(self) -> FakeLocator:
        return self

    def locator(self, selector: str) -> FakeLocator:
        self.page.selectors.append(selector)
        return FakeLocator(self.page, selector)

    def click(self, timeout: float) -> None:
        self.page.timeouts.append(timeout)
        self.page.actions.append(f"click {self.name}")
        if self.name.startswith("button"):
            self.page.on_submit()

    def fill(self, text: str, timeout: float) -> None:
        self.page.timeouts.append(timeout)
        self.page.actions.append(f"type {text}")

    def inner_text(self) -> str:
        return self.page.body


class FakePage:
    """A page whose behaviour on load and on submit the test chooses."""

    def __init__(
        self,
        *,
        on_load: Callable[[FakePage], None] = lambda page: None,
        on_submit: Callable[[FakePage], None] = lambda page: None,
    ) -> None:
        self.handlers: dict[str, Callable[[Any], None]] = {}
        self.actions: list[str] = []
        #: Every selector asked for and every timeout (ms) given, in order.
        self.selectors: list[str] = []
        self.timeouts: list[float] = []
        self.shots: list[dict[str, Any]] = []
        self.body = "Ask Contoso Outdoors"
        self._on_load, self._on_submit = on_load, on_submit
        self.waited = 0.0
        #: The headers every request of the page carries (the step's trace context).
        self.headers: dict[str, str] = {}
        #: Where each Playwright trace went when stopped (None: discarded).
        self.traces: list[str | None] = []
        #: How Playwright's tracing was started, each time; None: it refused.
        self.trace_starts: list[dict[str, Any]] = []
        self.tracing_broken = False
        #: Whether the browser behind the page is still there (False: it went away).
        self.connected = True
        self.context = SimpleNamespace(
            tracing=SimpleNamespace(start=self._start_trace, stop=self._stop_trace),
            browser=SimpleNamespace(is_connected=lambda: self.connected),
        )

    def _start_trace(self, **options: Any) -> None:
        if self.tracing_broken:
            raise RuntimeError("tracing unavailable")
        self.trace_starts.append(options)

    def _stop_trace(self, path: str | None = None) -> None:
        self.traces.append(path)
        if path is not None:
            Path(path).write_bytes(b"PK fake trace")

    def set_extra_http_headers(self, headers: dict[str, str]) -> None:
        self.headers = dict(headers)

    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        self.handlers[event] = handler

    def emit(self, event: str, payload: Any) -> None:
        self.handlers[event](payload)

    def goto(self, url: str, wait_until: str, timeout: float) -> None:
        self.timeouts.append(timeout)
        self.actions.append(f"goto {url} until {wait_until}")
        self._on_load(self)

    def on_submit(self) -> None:
        self._on_submit(self)

    def locator(self, selector: str) -> FakeLocator:
        self.selectors.append(selector)
        return FakeLocator(self, selector)

    def wait_for_timeout(self, ms: float) -> None:
        self.waited += ms / 1000
        clock.sleep(ms / 1000)  # Playwright's wait, on the tests' fake clock

    def evaluate(self, script: str, text: str) -> bool:
        return text in self.body

    def screenshot(self, path: str, full_page: bool, timeout: float) -> None:
        self.shots.append({"full_page": full_page, "timeout": timeout})
        Path(path).write_bytes(b"\x89PNG fake")


def response(url: str, status: int = 200, body: object = None) -> Any:
    return SimpleNamespace(
        url=url,
        status=status,
        request=SimpleNamespace(method="POST"),
        json=lambda: body,
        text=lambda: json.dumps(body),
    )


def answers(text: str, shown: str | None = None) -> Callable[[FakePage], None]:
    def submit(page: FakePage) -> None:
        page.emit("response", response("http://w/api/chat/service", 200, {"answer": text}))
        page.body += f" {text if shown is None else shown}"

    return submit


def ask(page: FakePage, timeout: float = 3.0) -> str:
    return _ask(page, Watch(page), "http://w", "a tent?", clock.monotonic() + timeout, timeout)


def test_the_question_is_typed_submitted_and_the_answer_seen() -> None:
    page = FakePage(on_submit=answers("Try the SkyView tent."))
    assert ask(page) == "Try the SkyView tent."
    assert page.actions[0] == "goto http://w/ until load"
    assert "type a tent?" in page.actions
    assert page.actions[-1].startswith("click button")
    assert page.actions.index("type a tent?") < len(page.actions) - 1


def test_a_response_field_for_old_providers_counts_too() -> None:
    def submit(page: FakePage) -> None:
        page.emit("response", response("http://w/api/chat/service", 200, {"response": "Hi"}))
        page.body += " Hi"

    assert ask(FakePage(on_submit=submit)) == "Hi"


def test_a_script_error_at_load_fails_before_typing() -> None:
    error = SimpleNamespace(name="TypeError", message="x is undefined")
    page = FakePage(on_load=lambda page: page.emit("pageerror", error))
    with pytest.raises(
        BrowserCheckFailed, match=r"^uncaught page error: TypeError: x is undefined$"
    ):
        ask(page)
    assert not any(action.startswith("type") for action in page.actions)


@pytest.mark.parametrize(
    ("event", "payload", "said"),
    [
        ("console", SimpleNamespace(type="error", text="boom"), "console.error: boom"),
        (
            "requestfailed",
            SimpleNamespace(method="POST", url="http://w/x", failure="net::ERR_FAILED"),
            "request failed: POST http://w/x (net::ERR_FAILED)",
        ),
        (
            "requestfailed",
            SimpleNamespace(method="GET", url="http://w/y", failure=None),
            "request failed: GET http://w/y (no reason)",
        ),
        (
            "response",
            response("http://w/api/chat/servise", 404),
            "HTTP 404 from POST http://w/api/chat/servise",
        ),
    ],
)
def test_what_a_person_would_hit_fails_the_step(event: str, payload: Any, said: str) -> None:
    page = FakePage(on_submit=lambda page: page.emit(event, payload))
    with pytest.raises(BrowserCheckFailed) as caught:
        ask(page)
    assert str(caught.value) == said


def test_console_lines_that_are_not_errors_are_fine() -> None:
    def submit(page: FakePage) -> None:
        page.emit("console", SimpleNamespace(type="log", text="hello"))
        answers("Yes.")(page)

    assert ask(FakePage(on_submit=submit)) == "Yes."


def test_a_page_that_sends_nothing_fails_at_the_timeout_saying_what_it_shows() -> None:
    page = FakePage()
    with pytest.raises(BrowserCheckFailed) as caught:
        ask(page, timeout=0.15)
    assert str(caught.value) == (
        "no answer appeared within 0.15s (the page sent no question to /api/chat/service); "
        "the page shows: Ask Contoso Outdoors"
    )


def test_an_answer_the_page_never_shows_fails_after_a_moment_not_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(browser, "SHOW_WITHIN_SECONDS", 0.1)
    page = FakePage(on_submit=answers("Try the tent.", shown="undefined"))
    with pytest.raises(BrowserCheckFailed) as caught:
        ask(page, timeout=3)
    assert str(caught.value) == (
        "no answer appeared on the page within 0.1s of chat's answer arriving; "
        "the page shows: Ask Contoso Outdoors undefined"
    )


def test_an_answer_without_text_fails() -> None:
    def submit(page: FakePage) -> None:
        page.emit("response", response("http://w/api/chat/service", 200, {"reply": "x"}))

    with pytest.raises(BrowserCheckFailed, match=r"chat's answer to the page has no answer text"):
        ask(FakePage(on_submit=submit))


def test_a_failure_saves_the_page_and_names_the_file(tmp_path: Path) -> None:
    failure = BrowserCheckFailed("boom")
    _save(FakePage(), tmp_path / "shots" / "e2e-web.png", failure)
    assert str(failure) == f"boom (screenshot: {tmp_path / 'shots' / 'e2e-web.png'})"
    assert (tmp_path / "shots" / "e2e-web.png").read_bytes().startswith(b"\x89PNG")


def test_a_screenshot_that_cannot_be_taken_is_said(tmp_path: Path) -> None:
    page = FakePage()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("target closed")

    page.screenshot = broken  # type: ignore[method-assign]
    failure = BrowserCheckFailed("boom")
    _save(page, tmp_path / "x.png", failure)
    assert str(failure) == "boom (no screenshot: target closed)"


# -- where the browser comes from -----------------------------------------------------


def executable(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def with_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.importlib.util, "find_spec", lambda name: object())


@pytest.mark.usefixtures("with_playwright")
def test_smoke_browser_names_the_executable(tmp_path: Path) -> None:
    chrome = executable(tmp_path, "my-chrome")
    assert find_browser({"SMOKE_BROWSER": str(chrome), "PATH": ""}) == Browser(str(chrome))
    found = find_browser({"SMOKE_BROWSER": "my-chrome", "PATH": str(tmp_path)})
    assert found == Browser(str(chrome))


@pytest.mark.usefixtures("with_playwright")
def test_a_system_chromium_on_path_in_order(tmp_path: Path) -> None:
    chrome = executable(tmp_path, "google-chrome")
    assert find_browser({"PATH": str(tmp_path)}) == Browser(str(chrome))
    chromium = executable(tmp_path, "chromium")
    assert find_browser({"PATH": str(tmp_path)}) == Browser(str(chromium))
    # The headless shell first: half the full browser's CPU at start.
    shell = executable(tmp_path, "chromium-headless-shell")
    assert find_browser({"PATH": str(tmp_path)}) == Browser(str(shell))


@pytest.mark.usefixtures("with_playwright")
def test_playwrights_own_chromium_when_installed(tmp_path: Path) -> None:
    (tmp_path / "chromium-1200").mkdir()
    env = {"PATH": "", "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path)}
    assert find_browser(env) == Browser(None)
    assert Browser(None).describe() == "Playwright's Chromium"


@pytest.mark.usefixtures("with_playwright")
def test_no_browser_at_all(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path)}
    with pytest.raises(ToolMissing) as caught:
        find_browser(env)
    assert str(caught.value) == "no browser found for the web page (browser) step"
    assert caught.value.hint == browser._HINT


def test_no_playwright_is_said_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(browser.importlib.util, "find_spec", lambda name: None)
    chrome = executable(tmp_path, "chromium")
    with pytest.raises(ToolMissing, match="needs Playwright, which is not installed"):
        find_browser({"PATH": str(tmp_path), "SMOKE_BROWSER": str(chrome)})
    assert os.access(chrome, os.X_OK)


def test_the_page_is_driven_through_its_form_within_the_deadline() -> None:
    page = FakePage(on_submit=answers("Try the tent."))
    ask(page, timeout=3.0)
    assert page.selectors[:3] == ["form", "input, textarea", "button, [type=submit]"]
    assert len(page.timeouts) == 3  # load, type, click: each bounded by what is left
    assert all(2000 < ms <= 3000 for ms in page.timeouts)


def test_a_failure_shows_the_pages_text() -> None:
    page = FakePage()
    page.body = "word " * 100
    with pytest.raises(BrowserCheckFailed) as caught:
        ask(page, timeout=0.1)
    assert page.selectors[-1] == "body"
    shown = str(caught.value).split("the page shows: ", 1)[1]
    assert len(shown) == 200
    assert shown.endswith("…")


def test_text_of_exactly_the_limit_is_shown_whole() -> None:
    from smoke.masking import excerpt

    assert excerpt("x" * 200, limit=200) == "x" * 200
    assert excerpt("x" * 201, limit=200) == "x" * 199 + "…"


def test_an_error_without_a_name_or_message_is_still_named() -> None:
    page = FakePage(on_load=lambda page: page.emit("pageerror", "Script error."))
    with pytest.raises(BrowserCheckFailed) as caught:
        ask(page)
    assert str(caught.value) == "uncaught page error: Error: Script error."


def test_the_screenshot_is_the_whole_page_taken_in_bounded_time(tmp_path: Path) -> None:
    page = FakePage()
    _save(page, tmp_path / "a" / "b" / "e2e-web.png", BrowserCheckFailed("boom"))
    assert page.shots == [{"full_page": True, "timeout": 5000}]
    assert (tmp_path / "a" / "b" / "e2e-web.png").exists()


@pytest.mark.usefixtures("with_playwright")
def test_a_smoke_browser_that_is_not_executable_is_named(tmp_path: Path) -> None:
    plain = tmp_path / "not-a-browser"
    plain.write_text("")
    with pytest.raises(ToolMissing) as caught:
        find_browser({"SMOKE_BROWSER": str(plain), "PATH": ""})
    assert str(caught.value) == f"SMOKE_BROWSER={plain} is not an executable browser"
    assert caught.value.hint == browser._HINT


@pytest.mark.usefixtures("with_playwright")
def test_playwrights_chromium_is_looked_for_in_its_default_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".cache" / "ms-playwright" / "chromium-1200").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_browser({"PATH": ""}) == Browser(None)


def test_without_playwright_the_fix_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(browser.importlib.util, "find_spec", lambda name: asked.append(name))
    with pytest.raises(ToolMissing) as caught:
        find_browser({"PATH": ""})
    assert asked == ["playwright"]
    assert str(caught.value) == (
        "the web page (browser) step needs Playwright, which is not installed"
    )
    assert caught.value.hint == browser._HINT


def test_without_an_env_the_process_env_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser.importlib.util, "find_spec", lambda name: object())
    chrome = executable(tmp_path, "chromium")
    monkeypatch.setenv("SMOKE_BROWSER", str(chrome))
    assert find_browser() == Browser(str(chrome))


@pytest.mark.parametrize("body", [["Try it."], {"answer": 42}])
def test_an_answer_that_is_not_text_fails(body: object) -> None:
    def submit(page: FakePage) -> None:
        page.emit("response", response("http://w/api/chat/service", 200, body))

    with pytest.raises(BrowserCheckFailed, match=r"chat's answer to the page has no answer text"):
        ask(FakePage(on_submit=submit))
