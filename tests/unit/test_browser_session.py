"""The browser session: Chromium launched on a thread of its own, as Playwright asks,
with its page reused by each question and everything handed back to the step that
asked. Playwright is stood in for here; tests/services/test_browser.py runs it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from smoke.checks import browser
from smoke.checks.browser import Browser, Session
from smoke.errors import BrowserCheckFailed
from tests.unit.test_browser import FakePage, answers


class PlaywrightError(Exception):
    pass


class FakePlaywright:
    """What `sync_playwright()` gives: chromium.launch records how it was asked."""

    def __init__(self, pages: list[FakePage], *, fail_launch: str | None = None) -> None:
        self.launches: list[dict[str, Any]] = []
        self.closed = 0
        self.pages = pages
        self.fail_launch = fail_launch
        self.chromium = SimpleNamespace(launch=self._launch)

    def _launch(self, **kwargs: Any) -> Any:
        if self.fail_launch:
            raise PlaywrightError(self.fail_launch)
        self.launches.append(kwargs)
        return SimpleNamespace(new_page=self.pages.pop, close=self._close)

    def _close(self) -> None:
        self.closed += 1

    def __enter__(self) -> FakePlaywright:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@pytest.fixture
def playwright(monkeypatch: pytest.MonkeyPatch) -> FakePlaywright:
    fake = FakePlaywright([FakePage(on_submit=answers("Try the SkyView tent."))])
    module = ModuleType("playwright.sync_api")
    module.sync_playwright = lambda: fake  # type: ignore[attr-defined]
    module.Error = PlaywrightError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "playwright.sync_api", module)
    return fake


def test_a_session_launches_headless_chromium_once_and_answers(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    with Session(Browser("/usr/bin/chromium")) as session:
        answer = session.ask("http://w", "a tent?", timeout=3, screenshot=tmp_path / "s.png")
    assert answer == "Try the SkyView tent."
    (launch,) = playwright.launches
    assert launch["executable_path"] == "/usr/bin/chromium"
    assert launch["headless"] is True
    assert list(launch["args"][: len(browser._CHROMIUM_ARGS)]) == list(browser._CHROMIUM_ARGS)
    assert ("--no-sandbox" in launch["args"]) is (os.geteuid() == 0)
    assert playwright.closed == 1  # closed with the session
    assert not (tmp_path / "s.png").exists()  # nothing failed: no screenshot


def test_the_one_shot_ask_uses_a_session_of_its_own(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    got = browser.ask(Browser(None), "http://w", "a tent?", timeout=3, screenshot=tmp_path / "s")
    assert got == "Try the SkyView tent."
    assert playwright.launches[0]["executable_path"] is None
    assert playwright.closed == 1
    assert isinstance(browser.start(Browser(None)), Session)


def test_a_page_failure_is_the_steps_with_a_screenshot(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    def broken(page: FakePage) -> None:
        raise PlaywrightError("Target page, context or browser has been closed")

    playwright.pages[:] = [FakePage(on_load=broken)]
    shot = tmp_path / "e2e-web.png"
    with Session(Browser(None)) as session, pytest.raises(BrowserCheckFailed) as caught:
        session.ask("http://w", "a tent?", timeout=3, screenshot=shot)
    assert str(caught.value).startswith(
        "the browser failed: Target page, context or browser has been closed"
    )
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_a_browser_that_does_not_start_fails_every_asker_saying_why(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    playwright.fail_launch = "Executable doesn't exist at /nowhere/chrome"
    with Session(Browser("/nowhere/chrome")) as session:
        for _ in range(2):
            with pytest.raises(BrowserCheckFailed) as caught:
                session.ask("http://w", "q", timeout=3, screenshot=tmp_path / "s.png")
            assert str(caught.value) == (
                "the browser did not start: Executable doesn't exist at /nowhere/chrome"
            )


def test_a_browser_that_never_answers_fails_after_the_timeout_and_its_grace(
    playwright: FakePlaywright, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser, "_START_GRACE_SECONDS", 0.2)
    release = __import__("threading").Event()

    def hang(page: FakePage) -> None:
        release.wait(5)

    playwright.pages[:] = [FakePage(on_load=hang)]
    session = Session(Browser(None))
    try:
        with pytest.raises(BrowserCheckFailed) as caught:
            session.ask("http://w", "q", timeout=0.1, screenshot=tmp_path / "s.png")
        assert str(caught.value) == "the browser did not answer within 0.3s"
    finally:
        release.set()
        session.close()


def test_each_question_is_traced_and_the_trace_kept_only_when_it_fails(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    def broken(page: FakePage) -> None:
        raise PlaywrightError("boom")

    good, bad = FakePage(on_submit=answers("Try the SkyView tent.")), FakePage(on_load=broken)
    playwright.pages[:] = [good]
    shot = tmp_path / "e2e-web.png"
    headers = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    with Session(Browser(None)) as session:
        assert session.ask("http://w", "q", timeout=3, screenshot=shot, headers=headers)
    assert good.headers == headers  # the page and its fetches carry the step's trace
    assert good.trace_starts == [{"screenshots": True, "snapshots": True}]
    assert good.traces == [None]  # passed: the trace is dropped
    assert not (tmp_path / browser.BROWSER_TRACE_NAME).exists()
    playwright.pages[:] = [bad]
    with Session(Browser(None)) as session, pytest.raises(BrowserCheckFailed):
        session.ask("http://w", "q", timeout=3, screenshot=shot)
    kept = tmp_path / browser.BROWSER_TRACE_NAME
    assert bad.headers == {}
    assert bad.traces == [str(kept)]
    assert kept.read_bytes() == b"PK fake trace"
    assert browser.browser_trace_path(shot) == kept


def test_a_trace_that_cannot_start_costs_the_question_nothing(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    page = FakePage(on_submit=answers("Try the SkyView tent."))
    page.tracing_broken = True
    playwright.pages[:] = [page]
    with Session(Browser(None)) as session:
        answer = session.ask("http://w", "q", timeout=3, screenshot=tmp_path / "s.png")
    assert answer == "Try the SkyView tent."
    assert page.traces == []  # never started: never stopped


def test_begin_close_lets_the_browser_go_without_waiting_and_close_waits(
    playwright: FakePlaywright,
) -> None:
    session = Session(Browser("/usr/bin/chromium"))
    session.begin_close()
    session.begin_close()  # said twice, the browser still closes once
    session.close()
    assert playwright.closed == 1
    assert not session._thread.is_alive()


def _gone(page: FakePage) -> None:
    """The browser process went away: the page's next call fails, as Playwright's do."""
    page.connected = False
    raise PlaywrightError("Target page, context or browser has been closed")


def test_a_browser_that_went_away_is_started_again_once_and_the_step_passes(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    playwright.pages.insert(0, FakePage(on_submit=answers("Try the SkyView tent.")))
    playwright.pages.append(FakePage(on_load=_gone))  # the first launch's page
    with Session(Browser("/usr/bin/chromium")) as session:
        answer = session.ask("http://w", "a tent?", timeout=3, screenshot=tmp_path / "s.png")
    assert answer == "Try the SkyView tent."
    assert len(playwright.launches) == 2  # a fresh browser
    assert session.went_away == "Target page, context or browser has been closed"
    assert not (tmp_path / "s.png").exists()  # not web's page's fault: no screenshot


def test_a_browser_that_goes_away_twice_fails_as_the_smokes_not_webs_page(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    from smoke.errors import BrowserGone

    playwright.pages[:] = [FakePage(on_load=_gone), FakePage(on_load=_gone)]
    with Session(Browser("/usr/bin/chromium")) as session, pytest.raises(BrowserGone) as caught:
        session.ask("http://w", "a tent?", timeout=3, screenshot=tmp_path / "s.png")
    assert str(caught.value).startswith("the smoke's browser failed under the step twice, not for")
    assert caught.value.failure_class == "the smoke's browser went away"
    assert caught.value.services == ()  # neither web nor chat


def test_a_page_that_crashed_its_renderer_is_webs_pages_fault(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    def crash(page: FakePage) -> None:
        page.emit("crash", page)
        raise PlaywrightError("Target crashed")

    playwright.pages[:] = [FakePage(on_load=crash)]
    with (
        Session(Browser("/usr/bin/chromium")) as session,
        pytest.raises(BrowserCheckFailed) as caught,
    ):
        session.ask("http://w", "a tent?", timeout=3, screenshot=tmp_path / "s.png")
    assert str(caught.value).startswith("web's page crashed the browser's renderer: Target crashed")
    assert type(caught.value) is BrowserCheckFailed
    assert len(playwright.launches) == 1  # not tried again: the page would crash it again


def test_requests_dropped_as_the_hosts_network_changed_are_tried_again_on_the_same_browser(
    playwright: FakePlaywright, tmp_path: Path
) -> None:
    """Another stack's network coming or going makes Chromium drop what it had in
    flight: the machine's doing, tried once more."""
    tries = []

    def flaky(page: FakePage) -> None:
        tries.append(1)
        if len(tries) == 1:
            raise PlaywrightError("Page.goto: net::ERR_NETWORK_CHANGED at http://w/")

    playwright.pages[:] = [FakePage(on_load=flaky, on_submit=answers("Try the SkyView tent."))]
    with Session(Browser("/usr/bin/chromium")) as session:
        answer = session.ask("http://w", "a tent?", timeout=3, screenshot=tmp_path / "s.png")
    assert answer == "Try the SkyView tent."
    assert len(playwright.launches) == 1  # the same browser
    assert session.network_changed is not None
    assert "ERR_NETWORK_CHANGED" in session.network_changed
    assert not (tmp_path / "s.png").exists()
