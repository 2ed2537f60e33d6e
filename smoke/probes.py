"""HTTP checks against a running stack, through httpx only.

Waits poll at short intervals against a deadline: no fixed sleeps, so a check
passes as soon as the service is ready and fails as soon as the deadline is hit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from .contract import ContractViolation, extract_answer
from .errors import (
    ChatHealthTimeout,
    CheckFailed,
    ContractDrift,
    DependencyFailure,
    PageFailed,
    PersistenceFailed,
    PortUnavailable,
    ProxyCallFailed,
    StackMismatch,
)

# Readiness polls start fast and back off, so a ready service is noticed within a
# fraction of a second while a slow one is not flooded with requests.
POLL_FIRST = 0.05
POLL_MAX = 0.25
POLL_BACKOFF = 1.5
QUESTION = "Which tent is best for stargazing?"
_EXCERPT = 300


def excerpt(text: str, limit: int = _EXCERPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Seen:
    """The last thing a wait saw, for the failure message."""

    status: int | None
    body: str

    def describe(self) -> str:
        if self.status is None:
            return self.body
        return f"HTTP {self.status}: {excerpt(self.body)}" if self.body else f"HTTP {self.status}"


def _transport_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Endpoints(Protocol):
    def url(self, service: str) -> str:
        """Base URL of ``service``; raises ``PortUnavailable`` while it has none."""
        ...


@dataclass(frozen=True)
class FixedEndpoints:
    """A running stack given by URLs (--web-url / --chat-url)."""

    web: str
    chat: str

    def url(self, service: str) -> str:
        return {"web": self.web, "chat": self.chat}[service]


@dataclass
class Probe:
    """One stack's endpoints and the deadline rule for its waits."""

    endpoints: Endpoints
    timeout: float
    client: httpx.Client
    _known: dict[str, str] = field(default_factory=dict)

    def url(self, service: str, path: str) -> str:
        if service not in self._known:  # one lookup per service once it has a port
            self._known[service] = self.endpoints.url(service)
        return self._known[service] + path

    def _poll(
        self,
        service: str,
        path: str,
        ready: Callable[[httpx.Response], bool],
        failure: type[CheckFailed],
        what: str,
    ) -> httpx.Response:
        started = time.monotonic()
        deadline = started + self.timeout
        seen = Seen(None, "no answer yet")
        pause = POLL_FIRST
        while True:
            remaining = deadline - time.monotonic()
            try:
                url = self.url(service, path)
                response = self.client.get(url, timeout=max(0.1, min(2.0, remaining)))
                if ready(response):
                    return response
                seen = Seen(response.status_code, response.text)
            except PortUnavailable as exc:
                seen = Seen(None, str(exc))
            except httpx.TransportError as exc:
                seen = Seen(None, _transport_error(exc))
            elapsed = time.monotonic() - started
            if time.monotonic() + pause >= deadline:
                raise failure(
                    f"{what} not ready after {elapsed:.1f}s (timeout {self.timeout:g}s); "
                    f"last seen: {seen.describe()}",
                    status=seen.status,
                    body=excerpt(seen.body),
                )
            time.sleep(pause)
            pause = min(POLL_MAX, pause * POLL_BACKOFF)

    def chat_health(self) -> dict[str, Any]:
        response = self._poll(
            "chat",
            "/health",
            lambda r: r.status_code == 200,
            ChatHealthTimeout,
            "chat /health",
        )
        payload: dict[str, Any] = response.json()
        return payload

    def chat_dependencies(self) -> dict[str, Any]:
        def db_ok(response: httpx.Response) -> bool:
            if response.status_code != 200:
                return False
            try:
                return bool(response.json()["dependencies"]["db"]["status"] == "ok")
            except (ValueError, KeyError, TypeError):
                return False

        response = self._poll(
            "chat",
            "/health/dependencies",
            db_ok,
            DependencyFailure,
            "chat dependency (db)",
        )
        payload: dict[str, Any] = response.json()
        return payload

    def proxy_call(self, question: str = QUESTION) -> httpx.Response:
        """POST through web's proxy; retries only while web is not listening yet."""
        started = time.monotonic()
        deadline = started + self.timeout
        pause = POLL_FIRST
        while True:
            try:
                url = self.url("web", "/api/chat/service")
                response = self.client.post(
                    url, json={"question": question}, timeout=max(0.1, deadline - time.monotonic())
                )
                break
            except PortUnavailable as exc:  # web not started yet: wait for it
                last = str(exc)
            except httpx.ConnectError as exc:  # web not listening yet: wait for it
                last = _transport_error(exc)
            except httpx.TimeoutException:
                elapsed = time.monotonic() - started
                raise ProxyCallFailed(
                    f"web -> chat proxy call timed out after {elapsed:.1f}s "
                    f"(timeout {self.timeout:g}s)",
                ) from None
            except httpx.TransportError as exc:
                last = _transport_error(exc)
            elapsed = time.monotonic() - started
            if time.monotonic() + pause >= deadline:
                raise ProxyCallFailed(
                    f"web did not accept the call within {self.timeout:g}s: {last}",
                )
            time.sleep(pause)
            pause = min(POLL_MAX, pause * POLL_BACKOFF)
        elapsed = time.monotonic() - started
        if response.status_code != 200:
            raise ProxyCallFailed(
                f"web answered HTTP {response.status_code}: {excerpt(response.text)}",
                status=response.status_code,
                body=excerpt(response.text),
            )
        return response

    def web_page(self) -> None:
        try:
            response = self.client.get(self.url("web", "/"), timeout=self.timeout)
        except (httpx.TransportError, PortUnavailable) as exc:
            raise PageFailed(
                f"web page / failed: {_transport_error(exc)}",
            ) from None
        if response.status_code != 200 or "<form" not in response.text:
            raise PageFailed(
                f"web page / answered HTTP {response.status_code} without a question form",
                status=response.status_code,
                body=excerpt(response.text),
            )

    def conversation(self, conversation_id: object, question: str, answer: str) -> None:
        def fail(message: str, response: httpx.Response | None = None) -> PersistenceFailed:
            return PersistenceFailed(
                message,
                status=None if response is None else response.status_code,
                body=None if response is None else excerpt(response.text),
            )

        if not isinstance(conversation_id, str) or not conversation_id:
            raise fail("the answer carries no conversation_id to read back")
        try:
            response = self.client.get(
                self.url("chat", f"/api/conversations/{conversation_id}"), timeout=self.timeout
            )
        except (httpx.TransportError, PortUnavailable) as exc:
            raise fail(f"reading the conversation failed: {_transport_error(exc)}") from None
        if response.status_code != 200:
            raise fail(
                f"conversation {conversation_id} answered HTTP {response.status_code}", response
            )
        contents = [m.get("content") for m in response.json().get("messages", [])]
        if question not in contents or answer not in contents:
            raise fail(f"conversation {conversation_id} does not hold the exchange", response)

    def local_stack(self, expected: str) -> None:
        payload = self.chat_health()
        if payload.get("stack") != expected:
            raise StackMismatch(
                f"chat /health reports stack {payload.get('stack')!r}, expected {expected!r}",
                status=200,
                body=excerpt(str(payload)),
            )


def validate_contract(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    try:
        return extract_answer(response.text)
    except ContractViolation as exc:
        raise ContractDrift(
            f"response contract drift: {exc}",
            status=response.status_code,
            body=excerpt(response.text),
        ) from None
