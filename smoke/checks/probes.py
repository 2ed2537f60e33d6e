"""HTTP checks against a running stack, through httpx only; every wait goes through
``smoke.checks.waiting``.

Waits poll at short intervals against a deadline: no fixed sleeps, so a check passes
as soon as the service is ready and fails as soon as the deadline is hit. While a
wait keeps failing it asks the engine, sparingly, what it knows of the service's
container, so the failure says what is true: exited (with its exit code),
crash-looping, healthy yet unreachable from here, or simply not ready in time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from smoke import clock
from smoke.checks.waiting import EngineView, Seen, Watcher, attempts
from smoke.errors import (
    ChatHealthTimeout,
    CheckFailed,
    DependencyFailure,
    PageFailed,
    PersistenceFailed,
    PortUnavailable,
    ProxyCallFailed,
    ProxyCallTimedOut,
    StackMismatch,
)
from smoke.masking import excerpt
from smoke.trace.context import mark_retried

if TYPE_CHECKING:
    pass

#: A port looked up this long ago is looked up again after a failed connection
#: (a restarted container may have a new ephemeral port); sooner would cost a
#: docker call per poll while a service is still starting.
PORT_REFRESH_SECONDS = 1.0
QUESTION = "Which tent is best for stargazing?"
#: Answers that say a probe path is not there (or elsewhere): seen twice in a row,
#: this far apart, from the same container run, they end the wait. A proxy in front of
#: a service that answers 404 for a moment while it starts is waited for.
DEFINITIVE_STATUSES = frozenset({404, 405})
DEFINITIVE_AFTER_SECONDS = 2.0


@dataclass(frozen=True)
class _Definitive:
    """A definitive answer seen once: its status, when, and the container run."""

    status: int
    at: float
    run: tuple[str, str] | None


def _definitive(status: int) -> bool:
    return status in DEFINITIVE_STATUSES or 300 <= status < 400


def _retried(exc: httpx.TransportError) -> None:
    """A try that got no answer, which its wait makes again: marked as such."""
    try:
        request = exc.request
    except RuntimeError:  # raised before httpx knew the request
        return
    mark_retried(request)


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
    watcher: Watcher | None = None
    #: service -> (base URL, when it was looked up)
    _known: dict[str, tuple[str, float]] = field(default_factory=dict)

    def url(self, service: str, path: str) -> str:
        if service not in self._known:  # one lookup per service while it answers
            self._known[service] = (self.endpoints.url(service), clock.monotonic())
        return self._known[service][0] + path

    def service_at(self, url: str) -> str | None:
        """The service whose looked-up address ``url`` goes to."""
        for service, (base, _) in list(self._known.items()):
            if url.startswith(base + "/"):
                return service
        return None

    def look_up_beside(self, pool: Executor, service: str) -> None:
        """Look ``service``'s URL up on ``pool``, beside the steps before the one that
        needs it; a lookup that fails there is left to that step, which says why."""

        def look_up() -> None:
            with contextlib.suppress(Exception):
                url = self.endpoints.url(service)
                self._known.setdefault(service, (url, clock.monotonic()))

        pool.submit(look_up)

    def forget(self, service: str) -> None:
        """A connection failed: the container may have restarted on a new port."""
        known = self._known.get(service)
        if known and clock.monotonic() - known[1] >= PORT_REFRESH_SECONDS:
            del self._known[service]

    def get(self, service: str, path: str) -> httpx.Response:
        """One GET, no waiting; for checks that need the service already up."""
        return self.client.get(self.url(service, path), timeout=self.timeout)

    def _poll(
        self,
        service: str,
        path: str,
        ready: Callable[[httpx.Response], bool],
        failure: type[CheckFailed],
        what: str,
        *,
        fatal: Callable[[httpx.Response], str | None] = lambda response: None,
        depends_on: tuple[str, ...] = (),
    ) -> httpx.Response:
        engine = EngineView(self.watcher, service, *depends_on)
        first: _Definitive | None = None
        for attempt in attempts(self.timeout):  # at least once: `seen` is always set
            could_not_connect = False
            where = service
            try:
                url = self.url(service, path)
                where = httpx.URL(url).netloc.decode()
                timeout = max(0.1, min(2.0, attempt.remaining_now()))
                response = self.client.get(url, timeout=timeout)
                if ready(response):
                    return response
                mark_retried(response.request)  # tried again below, or failed as a whole
                seen = Seen(response.status_code, response.text)
                first = self._confirm(service, path, response, first, failure, what)
                reason = fatal(response)
                if reason:
                    raise failure(
                        f"{what} failed: {reason}",
                        status=response.status_code,
                        body=excerpt(response.text),
                    )
            except PortUnavailable as exc:
                seen = Seen(None, str(exc))
            except httpx.TransportError as exc:
                _retried(exc)
                seen = Seen(None, _transport_error(exc))
                could_not_connect = True
                self.forget(service)
            elapsed = attempt.elapsed_now()
            engine.consult(elapsed, could_not_connect=could_not_connect, where=where)
        raise failure(
            f"{what} not ready after {elapsed:.1f}s (timeout {self.timeout:g}s); "
            f"last seen: {seen.describe()}{engine.describe()}",
            status=seen.status,
            body=excerpt(seen.body),
            timed_out=True,
        )

    def _run_of(self, service: str) -> tuple[str, str] | None:
        """The service's container and when it started: the same pair, the same run."""
        state = self.watcher.state(service) if self.watcher is not None else None
        return (state.container, state.started_at) if state is not None else None

    def _confirm(
        self,
        service: str,
        path: str,
        response: httpx.Response,
        first: _Definitive | None,
        failure: type[CheckFailed],
        what: str,
    ) -> _Definitive | None:
        """A 404, 405 or redirect on a probe path, the same twice in a row from the
        same container run and ``DEFINITIVE_AFTER_SECONDS`` apart, fails the wait now:
        no wait makes a missing route appear. Returns what to hold for the next try."""
        status, now = response.status_code, clock.monotonic()
        if not _definitive(status):
            return None
        if first is None or first.status != status:
            return _Definitive(status, now, self._run_of(service))
        if now - first.at < DEFINITIVE_AFTER_SECONDS:
            return first
        if self._run_of(service) != first.run:  # restarted meanwhile: a new first sighting
            return _Definitive(status, now, self._run_of(service))
        moved = response.headers.get("location")
        said = f"redirects to {moved}" if moved else "is not served"
        raise failure(
            f"{what} failed: {path} answered HTTP {status} twice in a row, "
            f"{now - first.at:.1f} s apart, from the same container: {path} {said}",
            status=status,
            body=excerpt(response.text),
            hint=f"{service} must answer GET {path} itself with 200 (the smoke follows no "
            f"redirect): check {service}'s routes, and that the compose file's {service} "
            "is the service the runbook means",
        )

    def chat_health(self) -> dict[str, Any]:
        response = self._poll(
            "chat",
            "/health",
            lambda r: r.status_code == 200,
            ChatHealthTimeout,
            "chat /health",
        )
        # 200 is healthy, whatever the body: a plain `OK` is common. What chat says of
        # itself (its stack) is read only when it is a JSON object.
        try:
            payload = response.json()
        except ValueError:
            return {}
        return payload if isinstance(payload, dict) else {}

    def chat_dependencies(self) -> dict[str, Any]:
        def db_state(response: httpx.Response) -> dict[str, Any]:
            try:
                db = response.json()["dependencies"]["db"]
            except (ValueError, KeyError, TypeError):
                return {}
            return db if isinstance(db, dict) else {}

        def db_ok(response: httpx.Response) -> bool:
            return response.status_code == 200 and db_state(response).get("status") == "ok"

        def hopeless(response: httpx.Response) -> str | None:
            # chat says waiting cannot help (e.g. a wrong password): fail now.
            db = db_state(response)
            if db.get("transient") is False:
                return f"{db.get('reason')} ({db.get('detail') or 'no detail'})"
            return None

        response = self._poll(
            "chat",
            "/health/dependencies",
            db_ok,
            DependencyFailure,
            "chat dependency (db)",
            fatal=hopeless,
            depends_on=("db",),
        )
        payload: dict[str, Any] = response.json()
        return payload

    def proxy_call(self, question: str = QUESTION) -> httpx.Response:
        """POST through web's proxy; retries only while web is not listening yet."""
        engine = EngineView(self.watcher, "web")
        for attempt in attempts(self.timeout):  # at least once: `last` is always set
            where = "web"
            could_not_connect = dropped = False
            try:
                url = self.url("web", "/api/chat/service")
                where = httpx.URL(url).netloc.decode()
                timeout = max(0.1, attempt.remaining_now())
                response = self.client.post(url, json={"question": question}, timeout=timeout)
                return _proxied(response)
            except PortUnavailable as exc:  # web not started yet: wait for it
                last = str(exc)
            except httpx.ConnectError as exc:  # web not listening yet: wait for it
                _retried(exc)
                last = _transport_error(exc)
                could_not_connect = True
                self.forget("web")
            except httpx.TimeoutException:
                raise ProxyCallTimedOut(
                    f"web -> chat proxy call timed out after {attempt.elapsed_now():.1f}s "
                    f"(timeout {self.timeout:g}s)",
                    timed_out=True,
                ) from None
            except httpx.TransportError as exc:  # e.g. reset by the port's proxy: again
                _retried(exc)
                last = _transport_error(exc)
                dropped = isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError)
            engine.consult(
                attempt.elapsed_now(),
                could_not_connect=could_not_connect,
                where=where,
                dropped=dropped,
            )
        raise ProxyCallFailed(
            f"web did not accept the call within {self.timeout:g}s: {last}{engine.describe()}",
        )

    def web_page(self) -> None:
        try:
            response = self.get("web", "/")
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
            response = self.get("chat", f"/api/conversations/{conversation_id}")
        except (httpx.TransportError, PortUnavailable) as exc:
            raise fail(f"reading the conversation failed: {_transport_error(exc)}") from None
        if response.status_code != 200:
            raise fail(
                f"conversation {conversation_id} answered HTTP {response.status_code}", response
            )
        try:
            messages = response.json().get("messages", [])
            contents = [m.get("content") for m in messages]
        except (ValueError, AttributeError):
            raise fail(
                f"conversation {conversation_id} is not a JSON conversation", response
            ) from None
        if question not in contents or answer not in contents:
            raise fail(f"conversation {conversation_id} does not hold the exchange", response)

    def local_stack(self, expected: str) -> dict[str, Any]:
        payload = self.chat_health()
        if payload.get("stack") != expected:
            raise StackMismatch(
                f"chat /health reports stack {payload.get('stack')!r}, expected {expected!r}",
                status=200,
                body=excerpt(str(payload)),
            )
        return payload


def _proxied(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise ProxyCallFailed(
            f"web answered HTTP {response.status_code}: {excerpt(response.text)}",
            status=response.status_code,
            body=excerpt(response.text),
        )
    return response
