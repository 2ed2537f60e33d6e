"""HTTP checks against a running stack, through httpx only.

Waits poll at short intervals against a deadline: no fixed sleeps, so a check passes
as soon as the service is ready and fails as soon as the deadline is hit. While a
wait keeps failing it asks the engine, sparingly, what it knows of the service's
container, so the failure says what is true: exited (with its exit code),
crash-looping, healthy yet unreachable from here, or simply not ready in time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from smoke.checks.contract import ContractViolation, extract_answer
from smoke.report.errors import (
    ChatHealthTimeout,
    CheckFailed,
    ContractDrift,
    DependencyFailure,
    PageFailed,
    PersistenceFailed,
    PortUnavailable,
    ProxyCallFailed,
    ServiceCrashed,
    StackMismatch,
    Unreachable,
)
from smoke.report.masking import excerpt

if TYPE_CHECKING:
    from smoke.stack.compose import ServiceState

# Readiness polls start fast and back off, so a ready service is noticed within a
# fraction of a second while a slow one is not flooded with requests.
POLL_FIRST = 0.05
POLL_MAX = 0.1
POLL_BACKOFF = 1.5
# The engine is asked only once a wait has failed this long, then at most this
# often: a healthy warm run never pays for it.
ENGINE_AFTER_SECONDS = 1.5
ENGINE_EVERY_SECONDS = 1.0
#: Restarts after which a container counts as crash-looping.
CRASH_LOOP_RESTARTS = 3
#: A port looked up this long ago is looked up again after a failed connection
#: (a restarted container may have a new ephemeral port); sooner would cost a
#: docker call per poll while a service is still starting.
PORT_REFRESH_SECONDS = 1.0
QUESTION = "Which tent is best for stargazing?"


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


class Watcher(Protocol):
    def state(self, service: str) -> ServiceState | None:
        """What the engine says of the service's container; None if it has none."""
        ...

    def listening(self, service: str) -> bool | None:
        """Whether the service listens on its port inside its container; None: unknown."""
        ...

    def url(self, service: str) -> str:
        """Where the service's port is published, as this machine reaches it."""
        ...


@dataclass(frozen=True)
class FixedEndpoints:
    """A running stack given by URLs (--web-url / --chat-url)."""

    web: str
    chat: str

    def url(self, service: str) -> str:
        return {"web": self.web, "chat": self.chat}[service]


class _EngineView:
    """The engine's view of the services behind one wait, asked for sparingly.

    The first service is the one probed over HTTP; the others are what it depends
    on (db behind chat's dependency check), watched only for exits and crash loops.
    A failed connection is "unreachable" only on evidence: the same container still
    running and healthy, listening inside, and published where the smoke looks.
    Anything less is what the engine says, or a service not ready yet.
    """

    def __init__(self, watcher: Watcher | None, *services: str) -> None:
        self._watcher = watcher
        self._services = services
        self._next_ask = ENGINE_AFTER_SECONDS
        self._last: dict[str, ServiceState] = {}
        self._exit_codes: dict[str, int | None] = {}
        #: The probed service's state when the engine last said it is healthy.
        self._healthy: ServiceState | None = None
        #: The evidence for "unreachable" held once; a second failure confirms it.
        self._suspected = False

    def consult(self, elapsed: float, *, could_not_connect: bool, where: str) -> None:
        """Raise what the engine makes certain, else return and let the wait go on."""
        if self._watcher is None:
            return
        if not could_not_connect:
            self._suspected = False
        if could_not_connect and self._healthy is not None:
            self._judge_unreachable(self._watcher, where)
            self._next_ask = 0.0  # not reachable after all: what does the engine say now?
        if elapsed < self._next_ask:
            return
        self._next_ask = elapsed + ENGINE_EVERY_SECONDS
        for service in self._services:
            state = self._watcher.state(service)
            if state is None:
                continue
            self._last[service] = state
            if state.gone_for_good:
                raise ServiceCrashed(
                    f"{service} {state.ending()} and no restart policy will bring it back "
                    f"(after {elapsed:.1f}s)",
                    services=(service,),
                )
            if state.status != "running":  # a running container's exit code is reset to 0
                self._exit_codes[service] = state.exit_code
            if state.restarts >= CRASH_LOOP_RESTARTS:
                code = self._exit_codes.get(service)
                exit_said = "" if code is None else f", last exit code {code}"
                raise ServiceCrashed(
                    f"{service} is crash-looping: restarted {state.restarts} times{exit_said} "
                    f"(after {elapsed:.1f}s)",
                    services=(service,),
                )
        seen = self._last.get(self._services[0])
        healthy = seen is not None and (seen.status, seen.health) == ("running", "healthy")
        self._healthy = seen if healthy else None

    def _judge_unreachable(self, watcher: Watcher, where: str) -> None:
        """Unreachable, if the evidence is whole; else return (the wait goes on)."""
        probed, before = self._services[0], self._healthy
        now = watcher.state(probed)
        if now is None or before is None or now.status != "running":
            return
        if not now.same_run_as(before) or now.health != "healthy":
            return  # restarted, or no longer healthy: not a network problem
        if watcher.listening(probed) is not True:
            return  # up but not listening yet, or it cannot be told: wait
        try:
            published = httpx.URL(watcher.url(probed)).netloc.decode()
        except PortUnavailable:
            return
        if published != where:
            return  # published elsewhere now: the wait looks there next
        if not self._suspected:
            # It may have begun to listen just after the failed connection: the next
            # attempt, made knowing it listens, must fail too.
            self._suspected = True
            return
        raise Unreachable(
            f"{probed} is running and healthy in the engine, but the smoke cannot reach it "
            f"at {where} (it listens in its container, and its port is published there)",
            services=(probed,),
        )

    def describe(self) -> str:
        said = "; ".join(f"{name} is {state.describe()}" for name, state in self._last.items())
        return f"; the engine says {said}" if said else ""


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
            self._known[service] = (self.endpoints.url(service), time.monotonic())
        return self._known[service][0] + path

    def forget(self, service: str) -> None:
        """A connection failed: the container may have restarted on a new port."""
        known = self._known.get(service)
        if known and time.monotonic() - known[1] >= PORT_REFRESH_SECONDS:
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
        started = time.monotonic()
        deadline = started + self.timeout
        seen = Seen(None, "no answer yet")
        engine = _EngineView(self.watcher, service, *depends_on)
        pause = POLL_FIRST
        while True:
            remaining = deadline - time.monotonic()
            could_not_connect = False
            where = service
            try:
                url = self.url(service, path)
                where = httpx.URL(url).netloc.decode()
                response = self.client.get(url, timeout=max(0.1, min(2.0, remaining)))
                if ready(response):
                    return response
                seen = Seen(response.status_code, response.text)
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
                seen = Seen(None, _transport_error(exc))
                could_not_connect = True
                self.forget(service)
            elapsed = time.monotonic() - started
            engine.consult(elapsed, could_not_connect=could_not_connect, where=where)
            if time.monotonic() + pause >= deadline:
                raise failure(
                    f"{what} not ready after {elapsed:.1f}s (timeout {self.timeout:g}s); "
                    f"last seen: {seen.describe()}{engine.describe()}",
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
        started = time.monotonic()
        deadline = started + self.timeout
        engine = _EngineView(self.watcher, "web")
        pause = POLL_FIRST
        while True:
            where = "web"
            could_not_connect = False
            try:
                url = self.url("web", "/api/chat/service")
                where = httpx.URL(url).netloc.decode()
                response = self.client.post(
                    url, json={"question": question}, timeout=max(0.1, deadline - time.monotonic())
                )
                break
            except PortUnavailable as exc:  # web not started yet: wait for it
                last = str(exc)
            except httpx.ConnectError as exc:  # web not listening yet: wait for it
                last = _transport_error(exc)
                could_not_connect = True
                self.forget("web")
            except httpx.TimeoutException:
                elapsed = time.monotonic() - started
                raise ProxyCallFailed(
                    f"web -> chat proxy call timed out after {elapsed:.1f}s "
                    f"(timeout {self.timeout:g}s)",
                ) from None
            except httpx.TransportError as exc:
                last = _transport_error(exc)
            elapsed = time.monotonic() - started
            engine.consult(elapsed, could_not_connect=could_not_connect, where=where)
            if time.monotonic() + pause >= deadline:
                raise ProxyCallFailed(
                    f"web did not accept the call within {self.timeout:g}s: {last}"
                    f"{engine.describe()}",
                )
            time.sleep(pause)
            pause = min(POLL_MAX, pause * POLL_BACKOFF)
        if response.status_code != 200:
            raise ProxyCallFailed(
                f"web answered HTTP {response.status_code}: {excerpt(response.text)}",
                status=response.status_code,
                body=excerpt(response.text),
            )
        return response

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


def validate_contract(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    try:
        return extract_answer(response.text)
    except ContractViolation as exc:
        raise ContractDrift(
            f"response contract drift: {exc}",
            status=response.status_code,
            body=excerpt(response.text),
        ) from None
