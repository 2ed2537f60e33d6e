"""What web's page does in the browser that a person would hit: uncaught errors,
console errors, failed requests and error statuses, a crashed renderer, and the
answer chat sends back to the page."""

from __future__ import annotations

from typing import Any

from smoke.errors import BrowserCheckFailed


class Watch:
    """What the page does that a person would hit: errors, failed requests, and
    the answer chat sends back."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        self.answers: list[Any] = []
        #: The page's renderer crashed (Playwright's `crash` event): the page's doing.
        self.crashed = False
        page.on("crash", self._crash)
        page.on("pageerror", self._page_error)
        page.on("console", self._console)
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _crash(self, page: Any) -> None:
        self.crashed = True

    def forget(self) -> None:
        """What an earlier try of the step saw is not this try's."""
        self.problems.clear()
        self.answers.clear()

    def _page_error(self, error: Any) -> None:
        name = getattr(error, "name", "") or "Error"
        self.problems.append(f"uncaught page error: {name}: {getattr(error, 'message', error)}")

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console.error: {message.text}")

    def _request_failed(self, request: Any) -> None:
        reason = request.failure or "no reason"
        self.problems.append(f"request failed: {request.method} {request.url} ({reason})")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            method = response.request.method
            self.problems.append(f"HTTP {response.status} from {method} {response.url}")
        elif "/api/chat/service" in response.url:
            self.answers.append(response)

    def check(self) -> None:
        if self.problems:
            raise BrowserCheckFailed(self.problems[0])
