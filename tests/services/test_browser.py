"""web's page in a real headless Chromium: a question asked the way a person asks it
gets chat's answer on the page; chat's errors (502, 504) show as errors; and the
smoke's browser step reports what a person would have seen, with a screenshot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contoso_web.app import Settings as WebSettings
from contoso_web.app import create_app as create_web
from smoke.checks.browser import NETWORK_CHANGED, Browser, ask, find_browser
from smoke.errors import BrowserCheckFailed, ToolMissing
from tests.services.conftest import free_port, serve


@pytest.fixture(scope="module")
def browser() -> Browser:
    """The browser the smoke would use: CI installs Debian's chromium (.ci/setup)."""
    try:
        return find_browser()
    except ToolMissing as exc:
        pytest.fail(f"{exc}; {exc.hint}")


def web_for(chat: str, timeout: float = 5.0) -> Iterator[str]:
    yield from serve(create_web(WebSettings(chat_url=chat, chat_timeout_seconds=timeout)))


@pytest.mark.docker
def test_a_question_asked_on_the_page_shows_chats_answer(
    browser: Browser, chat_url: str, tmp_path: Path
) -> None:
    for web in web_for(chat_url):
        started = time.monotonic()
        answer = ask(
            browser, web, "a tent for stargazing", timeout=20, screenshot=tmp_path / "x.png"
        )
        elapsed = time.monotonic() - started
    assert "SkyView" in answer
    assert not (tmp_path / "x.png").exists()  # a screenshot only when it fails
    assert elapsed < 20


def page_after_asking(browser: Browser, web: str) -> tuple[str, str]:
    """The answer area's class and text after a person asks on the page; asked once
    more if Chromium dropped a request because the host's network changed (another
    test's containers came or went), as the smoke's own step does."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=browser.executable, headless=True, args=["--no-sandbox"]
        )
        try:
            asked = _ask_on(chromium.new_page(), web, again_if_dropped=True)
            if asked is None:
                asked = _ask_on(chromium.new_page(), web, again_if_dropped=False)
            assert asked is not None
            return asked
        finally:
            chromium.close()


def _ask_on(page: Any, web: str, *, again_if_dropped: bool) -> tuple[str, str] | None:
    """The answer area's class and text; None when a request was dropped as the host's
    network changed and asking again is allowed."""
    from playwright.sync_api import Error

    dropped: list[str] = []
    page.on("requestfailed", lambda request: dropped.append(request.failure or ""))
    try:
        page.goto(web)
        page.locator("#question").press_sequentially("a tent")
        page.locator("button[type=submit]").click()
        page.wait_for_selector("#answer.error", timeout=15_000)
    except Error as exc:
        if again_if_dropped and NETWORK_CHANGED in str(exc):
            return None
        raise
    if again_if_dropped and any(NETWORK_CHANGED in failure for failure in dropped):
        return None
    answer = page.locator("#answer")
    return str(answer.get_attribute("class")), answer.inner_text()


def test_the_page_shows_chat_unreachable_as_an_error(browser: Browser) -> None:
    for web in web_for(f"http://127.0.0.1:{free_port()}"):
        css, text = page_after_asking(browser, web)
    assert css == "error"
    assert text.startswith("Error: chat unreachable at http://127.0.0.1:")


def test_the_page_shows_a_slow_chat_as_an_error(browser: Browser, silent_server: str) -> None:
    for web in web_for(silent_server, timeout=0.5):
        css, text = page_after_asking(browser, web)
    assert css == "error"
    assert text == "Error: chat did not answer within 0.5s"


def test_the_browser_step_fails_naming_the_failed_request_with_a_screenshot(
    browser: Browser, tmp_path: Path
) -> None:
    shot = tmp_path / "e2e-web.png"
    for web in web_for(f"http://127.0.0.1:{free_port()}"):
        with pytest.raises(BrowserCheckFailed) as caught:
            ask(browser, web, "a tent", timeout=10, screenshot=shot)
    message = str(caught.value)
    assert "HTTP 502 from POST" in message
    assert "/api/chat/service" in message
    assert f"(screenshot: {shot})" in message
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_no_browser_is_an_environment_problem_with_both_ways_to_get_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ToolMissing) as caught:
        find_browser({"SMOKE_BROWSER": "/nonexistent", "PATH": "/usr/bin"})
    assert "SMOKE_BROWSER=/nonexistent is not an executable browser" in str(caught.value)
    assert "apt-get install chromium" in caught.value.hint
    assert "python -m playwright install chromium" in caught.value.hint
    assert "--no-browser" in caught.value.hint
    with pytest.raises(ToolMissing, match="no browser found"):
        find_browser({"PATH": str(Path(__file__).parent), "PLAYWRIGHT_BROWSERS_PATH": "/nowhere"})
