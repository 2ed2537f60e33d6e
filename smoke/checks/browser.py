"""web's page in a real browser: headless Chromium, driven by Playwright, asks a
question the way a person would and waits for chat's answer to show.

Playwright is imported here only, and only when the step runs: the lite profile and
a plain install never need it (``pip install 'contoso-smoke[browser]'``). The
browser is a system Chromium when one is found (``SMOKE_BROWSER``, else
``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH), else Playwright's
own (``python -m playwright install chromium``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import shutil
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smoke import clock
from smoke.checks.contract import ContractViolation, extract_answer
from smoke.checks.watch import Watch
from smoke.errors import BrowserCheckFailed, BrowserGone, ToolMissing
from smoke.masking import excerpt

# Chromium's headless shell first: the headless mode Playwright itself launches,
# with half the full browser's CPU at start (which the stack starting beside it
# would otherwise pay).
SYSTEM_BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
#: A failed browser step's Playwright trace (`playwright show-trace` opens it offline).
BROWSER_TRACE_NAME = "e2e-browser-trace.zip"
_HINT = (
    "get one with `apt-get install chromium-headless-shell` (or chromium) or "
    "`python -m playwright install chromium` (and `pip install 'contoso-smoke[browser]'`), "
    "or drop the step with --no-browser"
)
# Quiet, offline-friendly Chromium: no background traffic, no GPU, no first-run UI.
_CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_EXCERPT = 200
_TICK_MS = 20
_START_GRACE_SECONDS = 15.0
_CLOSE_SECONDS = 10.0
#: How long the page may take to show an answer it has received.
SHOW_WITHIN_SECONDS = 5.0


@dataclass(frozen=True)
class Browser:
    """Which Chromium to launch: a path, or None for Playwright's own."""

    executable: str | None

    def describe(self) -> str:
        return self.executable or "Playwright's Chromium"


def _playwright_browsers(env: Mapping[str, str]) -> bool:
    root = Path(env.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    return any(root.glob("chromium*-*"))


def find_browser(env: Mapping[str, str] | None = None) -> Browser:
    """The browser the step will use; ``ToolMissing`` (exit 2) before anything starts."""
    env = os.environ if env is None else env
    if importlib.util.find_spec("playwright") is None:
        raise ToolMissing(
            "the web page (browser) step needs Playwright, which is not installed", hint=_HINT
        )
    named = env.get("SMOKE_BROWSER")
    if named:
        path = shutil.which(named, path=env.get("PATH"))
        if path is None:
            raise ToolMissing(f"SMOKE_BROWSER={named} is not an executable browser", hint=_HINT)
        return Browser(path)
    for name in SYSTEM_BROWSERS:
        path = shutil.which(name, path=env.get("PATH"))
        if path:
            return Browser(path)
    if _playwright_browsers(env):
        return Browser(None)
    raise ToolMissing("no browser found for the web page (browser) step", hint=_HINT)


#: A piece of work for the browser's thread, and where its result goes.
_Job = tuple[Callable[[Any, "Watch", "_Tracing"], str], "Future[str]"]


class Session:
    """Chromium started on a thread of its own as soon as the run starts, with a
    blank page open, so that the step finds it ready. Playwright's sync API stays on
    the thread that started it: the step hands its work over and waits for it."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self._closing = False
        #: What the browser said when it went away under a step, or when the host's
        #: network changed under it (the step was tried again then).
        self.went_away: str | None = None
        self.network_changed: str | None = None
        self._start()

    def _start(self) -> None:
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(
            target=self._serve, args=(self._jobs,), name="browser", daemon=True
        )
        self._thread.start()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self, jobs: queue.Queue[_Job | None]) -> None:
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                args = [*_CHROMIUM_ARGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
                chromium = playwright.chromium.launch(
                    executable_path=self.browser.executable, headless=True, args=args
                )
                try:
                    page = chromium.new_page()
                    watch = Watch(page)
                    # Started while the stack starts, not in the step: its start costs
                    # the step nothing.
                    tracing = _Tracing(page)
                    while (job := jobs.get()) is not None:
                        work, done = job
                        try:
                            done.set_result(work(page, watch, tracing))
                        except BaseException as exc:  # handed to the step that asked
                            done.set_exception(exc)
                finally:
                    with contextlib.suppress(Exception):  # gone already, maybe
                        chromium.close()
        except BaseException as exc:  # the browser did not start: every asker is told
            failure = BrowserCheckFailed(
                f"the browser did not start: {excerpt(str(exc), limit=_EXCERPT)}"
            )
            while (job := jobs.get()) is not None:
                job[1].set_exception(failure)

    def ask(
        self,
        web_url: str,
        question: str,
        *,
        timeout: float,
        screenshot: Path,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Open web's page, type ``question``, submit, and return the answer chat gave
        once the page shows it. Any uncaught page error, console error or failed
        request of the page fails the step at once; the page is then saved to
        ``screenshot``, and Playwright's trace of the step beside it
        (``browser_trace_path``). ``headers`` go with the page and its fetches (the
        step's trace context)."""
        deadline = clock.monotonic() + timeout

        def work(page: Any, watch: Watch, tracing: _Tracing) -> str:
            from playwright.sync_api import Error as PlaywrightError

            watch.forget()  # a try made again starts clean
            try:
                page.set_extra_http_headers(dict(headers or {}))
                answer = _ask(page, watch, web_url, question, deadline, timeout)
                tracing.stop(None)
                return answer
            except (BrowserCheckFailed, PlaywrightError) as exc:
                raise _failed_try(exc, page, watch, tracing, screenshot) from None

        try:
            return self._handed(work, timeout)
        except _Gone as gone:  # once more, on a fresh browser
            self.went_away = str(gone)
            self._restart()
        except _NetworkChanged as changed:  # once more, on the same browser
            self.network_changed = str(changed)
        try:
            return self._handed(work, max(0.1, deadline - clock.monotonic()))
        except (_Gone, _NetworkChanged) as again:
            first = self.went_away or self.network_changed
            raise BrowserGone(
                f"the smoke's browser failed under the step twice, not for web's page "
                f"({first}; then {again})"
            ) from None

    def _handed(self, work: Callable[[Any, Watch, _Tracing], str], timeout: float) -> str:
        """``work`` done on the browser's thread; its start-up counts against the wait."""
        done: Future[str] = Future()
        self._jobs.put((work, done))
        try:
            return done.result(timeout=timeout + _START_GRACE_SECONDS)
        except TimeoutError:
            raise BrowserCheckFailed(
                f"the browser did not answer within {timeout + _START_GRACE_SECONDS:g}s"
            ) from None

    def _restart(self) -> None:
        """The browser that went away let go, a fresh one started."""
        self._jobs.put(None)
        self._thread.join(timeout=_CLOSE_SECONDS)
        self._start()

    def begin_close(self) -> None:
        """Let the browser go without waiting for it (``close`` waits)."""
        if not self._closing:
            self._closing = True
            self._jobs.put(None)

    def close(self) -> None:
        self.begin_close()
        self._thread.join(timeout=_CLOSE_SECONDS)


def start(browser: Browser) -> Session:
    return Session(browser)


def browser_trace_path(screenshot: Path) -> Path:
    """Where a failed step's Playwright trace goes: beside its screenshot."""
    return screenshot.with_name(BROWSER_TRACE_NAME)


class _Gone(Exception):
    """Chromium went away under a step (internal: the session tries once more)."""


class _NetworkChanged(Exception):
    """Chromium dropped the step's requests as the host's network changed (internal:
    the session tries once more)."""


#: Chromium's word for requests it dropped because the host's network changed.
NETWORK_CHANGED = "ERR_NETWORK_CHANGED"


def _connected(page: Any) -> bool:
    try:
        return bool(page.context.browser.is_connected())
    except Exception:  # no browser to ask: gone
        return False


class _Tracing:
    """Playwright's trace of the step, kept only when the step fails; a trace that
    cannot be taken costs the step nothing."""

    def __init__(self, page: Any) -> None:
        try:
            self._tracing = page.context.tracing
            self._tracing.start(screenshots=True, snapshots=True)
            self._on = True
        except Exception:
            self._on = False

    def stop(self, path: Path | None) -> None:
        if not self._on:
            return
        self._on = False
        with contextlib.suppress(Exception):
            if path is None:
                self._tracing.stop()
            else:
                self._tracing.stop(path=str(path))


def ask(browser: Browser, web_url: str, question: str, *, timeout: float, screenshot: Path) -> str:
    """``Session.ask`` on a browser of its own, closed after."""
    with Session(browser) as session:
        return session.ask(web_url, question, timeout=timeout, screenshot=screenshot)


def _failed_try(
    exc: Exception, page: Any, watch: Watch, tracing: _Tracing, screenshot: Path
) -> Exception:
    """What a failed try of the step is: the browser gone or the host's network
    changed (the machine's doing, tried again), else web's page failing, its
    screenshot and the step's trace saved."""
    said = excerpt(str(exc), limit=_EXCERPT)
    if not watch.crashed and not _connected(page):
        return _Gone(said)  # the browser itself: not the page's doing
    if NETWORK_CHANGED in said:
        # The host's interfaces changed (another stack's network came or went):
        # Chromium drops what it had in flight. The machine's doing.
        return _NetworkChanged(said)
    tracing.stop(browser_trace_path(screenshot))
    failure = (
        exc
        if isinstance(exc, BrowserCheckFailed)
        else BrowserCheckFailed(
            "web's page crashed the browser's renderer: " + said
            if watch.crashed
            else f"the browser failed: {said}"
        )
    )
    _save(page, screenshot, failure)
    return failure


def _ask(
    page: Any, watch: Watch, web_url: str, question: str, deadline: float, timeout: float
) -> str:
    def remaining_ms() -> float:
        return max(100.0, (deadline - clock.monotonic()) * 1000)

    page.goto(f"{web_url}/", wait_until="load", timeout=remaining_ms())
    watch.check()  # a page that broke while loading: no need to type
    form = page.locator("form").first
    box = form.locator("input, textarea").first
    box.fill(question, timeout=remaining_ms())  # as a person's typing ends: the text in
    form.locator("button, [type=submit]").first.click(timeout=remaining_ms())
    while not watch.answers and clock.monotonic() < deadline:
        watch.check()
        page.wait_for_timeout(_TICK_MS)
    watch.check()
    if not watch.answers:
        raise BrowserCheckFailed(
            f"no answer appeared within {timeout:g}s (the page sent no question to "
            f"/api/chat/service); the page shows: {_shown(page)}"
        )
    try:  # the runbook's rule, as for the proxy call
        answer, _ = extract_answer(watch.answers[0].text())
    except ContractViolation as exc:
        raise BrowserCheckFailed(f"chat's answer to the page has no answer text: {exc}") from None
    # The answer is in: a working page shows it at once; give it a moment, not the
    # whole timeout.
    shown_by = min(deadline, clock.monotonic() + SHOW_WITHIN_SECONDS)
    while clock.monotonic() < shown_by:
        watch.check()
        if page.evaluate("text => document.body.innerText.includes(text)", answer):
            return answer
        page.wait_for_timeout(_TICK_MS)
    watch.check()
    raise BrowserCheckFailed(
        f"no answer appeared on the page within {SHOW_WITHIN_SECONDS:g}s of chat's answer "
        f"arriving; the page shows: {_shown(page)}"
    )


def _shown(page: Any) -> str:
    return excerpt(str(page.locator("body").inner_text()), limit=_EXCERPT)


def _save(page: Any, path: Path, failure: BrowserCheckFailed) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True, timeout=5000)
    except Exception as exc:  # the failure is the news; a missing picture is a footnote
        failure.args = (f"{failure} (no screenshot: {excerpt(str(exc), limit=_EXCERPT)})",)
        return
    failure.args = (f"{failure} (screenshot: {path})",)
