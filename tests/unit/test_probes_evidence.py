"""What each failed probe carries to the console's evidence block: the status and
body it saw, and for waits on web, what the engine says of web's container."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from smoke.checks import probes, waiting
from smoke.checks.contract import validate_contract
from smoke.checks.probes import FixedEndpoints, Probe
from smoke.errors import (
    ContractDrift,
    PageFailed,
    PersistenceFailed,
    ProxyCallFailed,
    ServiceCrashed,
    StackMismatch,
    Unreachable,
)
from smoke.stack.state import ServiceState

Handler = Callable[[httpx.Request], httpx.Response]
EXITED = ServiceState("exited", 3, 0, None, "")
HEALTHY = ServiceState("running", 0, 0, "healthy", "")


class Engine:
    def __init__(self, state: ServiceState) -> None:
        self.state_of = state
        self.asked: list[str] = []

    def state(self, service: str) -> ServiceState:
        self.asked.append(service)
        return self.state_of

    def listening(self, service: str) -> str | None:
        return "anywhere"

    def url(self, service: str) -> str:
        return {"web": "http://web:3000", "chat": "http://chat:8000"}[service]


def probe(handler: Handler, *, timeout: float = 1.0, watcher: Any = None) -> Probe:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Probe(
        FixedEndpoints("http://web:3000", "http://chat:8000"), timeout, client, watcher=watcher
    )


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture(autouse=True)
def ask_the_engine_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "ENGINE_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(waiting, "ENGINE_EVERY_SECONDS", 0.0)


def test_a_non_200_proxy_answer_carries_status_and_body() -> None:
    body = "upstream " * 60
    with pytest.raises(ProxyCallFailed) as caught:
        probe(lambda r: httpx.Response(504, text=body)).proxy_call()
    assert (caught.value.status, caught.value.body) == (504, probes.excerpt(body))
    assert str(caught.value.body).endswith("…")


def test_the_proxy_call_is_bounded_by_the_timeout() -> None:
    limits: list[float] = []

    def web(request: httpx.Request) -> httpx.Response:
        limits.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, json={"answer": "x"})

    probe(web, timeout=2.0).proxy_call()
    assert 1.5 < limits[0] <= 2.0


def test_an_exited_web_fails_the_proxy_wait_at_once() -> None:
    engine = Engine(EXITED)
    with pytest.raises(ServiceCrashed) as caught:
        probe(refused, timeout=3, watcher=engine).proxy_call()
    assert str(caught.value).startswith("web exited with code 3 and no restart policy")
    assert caught.value.services == ("web",)
    assert engine.asked == ["web"]


def test_a_healthy_web_the_smoke_cannot_reach_is_named_with_its_address() -> None:
    engine = Engine(HEALTHY)
    with pytest.raises(Unreachable) as caught:
        probe(refused, timeout=3, watcher=engine).proxy_call()
    assert str(caught.value) == (
        "web is running and healthy in the engine, but the smoke cannot reach it at web:3000"
        " (it listens in its container, and its port is published there)"
    )


def test_a_web_never_listening_says_what_the_engine_saw() -> None:
    running = ServiceState("running", 0, 1, None, "")
    with pytest.raises(ProxyCallFailed) as caught:
        probe(refused, timeout=0.15, watcher=Engine(running)).proxy_call()
    assert str(caught.value) == (
        "web did not accept the call within 0.15s: ConnectError: connection refused; "
        "the engine says web is running, exit code 0, 1 restarts"
    )


def test_a_transport_error_without_words_is_named_by_its_type() -> None:
    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("", request=request)

    with pytest.raises(ProxyCallFailed) as caught:
        probe(silent, timeout=0.2).proxy_call()
    assert str(caught.value) == "web did not accept the call within 0.2s: ConnectError"


def test_a_broken_page_carries_status_and_body() -> None:
    with pytest.raises(PageFailed) as caught:
        probe(lambda r: httpx.Response(500, text="Internal   error")).web_page()
    assert (caught.value.status, caught.value.body) == (500, "Internal error")


def test_a_page_read_is_bounded_by_the_timeout() -> None:
    limits: list[float] = []

    def web(request: httpx.Request) -> httpx.Response:
        limits.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, html="<form></form>")

    probe(web, timeout=2.5).web_page()
    assert limits == [2.5]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(404, text='{"error": "gone"}'), "conversation c1 answered HTTP 404"),
        (httpx.Response(200, text="[1, 2]"), "conversation c1 is not a JSON conversation"),
        (
            httpx.Response(200, json={"messages": [{"content": "q"}]}),
            "conversation c1 does not hold the exchange",
        ),
    ],
)
def test_a_conversation_not_read_back_carries_what_chat_answered(
    response: httpx.Response, message: str
) -> None:
    with pytest.raises(PersistenceFailed) as caught:
        probe(lambda r: response).conversation("c1", "q", "a")
    assert str(caught.value) == message
    assert (caught.value.status, caught.value.body) == (response.status_code, response.text)


def test_a_conversation_without_messages_does_not_hold_the_exchange() -> None:
    with pytest.raises(PersistenceFailed, match="does not hold the exchange"):
        probe(lambda r: httpx.Response(200, json={})).conversation("c1", "q", "a")


def test_a_missing_conversation_id_shows_no_response() -> None:
    with pytest.raises(PersistenceFailed) as caught:
        probe(refused).conversation(None, "q", "a")
    assert str(caught.value) == "the answer carries no conversation_id to read back"
    assert (caught.value.status, caught.value.body) == (None, None)


def test_a_stack_mismatch_shows_what_health_said() -> None:
    health = {"stack": "minimal", "service": "chat"}
    with pytest.raises(StackMismatch) as caught:
        probe(lambda r: httpx.Response(200, json=health)).local_stack("local")
    assert (caught.value.status, caught.value.body) == (200, str(health))


def test_contract_drift_carries_the_body_web_returned() -> None:
    response = httpx.Response(200, text='{"reply": "x"}')
    with pytest.raises(ContractDrift) as caught:
        validate_contract(response)
    assert str(caught.value).startswith("response contract drift: ")
    assert (caught.value.status, caught.value.body) == (200, '{"reply": "x"}')


def test_semantic_retrieval_asks_its_own_question_and_shows_the_answer() -> None:
    from smoke.errors import SemanticMismatch
    from smoke.plan import PARAPHRASES, check_semantic_retrieval

    asked: list[bytes] = []

    def web(request: httpx.Request) -> httpx.Response:
        asked.append(request.content)
        return httpx.Response(200, json={"answer": "a", "sources": ["TENT-001"]})

    with pytest.raises(SemanticMismatch) as caught:
        check_semantic_retrieval(probe(web))
    assert asked == [f'{{"question":"{PARAPHRASES[0][0]}"}}'.encode()]
    assert (caught.value.status, caught.value.body) == (
        200,
        '{"answer":"a","sources":["TENT-001"]}',
    )


def test_an_exited_web_says_how_long_the_wait_took() -> None:
    import re

    with pytest.raises(ServiceCrashed) as caught:
        probe(refused, timeout=3, watcher=Engine(EXITED)).proxy_call()
    found = re.search(r"\(after (\d+\.\d)s\)$", str(caught.value))
    assert found is not None
    assert float(found.group(1)) < 5


def test_an_unreachable_web_points_at_webs_logs() -> None:
    with pytest.raises(Unreachable) as caught:
        probe(refused, timeout=3, watcher=Engine(HEALTHY)).proxy_call()
    assert caught.value.services == ("web",)


def test_a_crash_loop_points_at_that_services_logs() -> None:
    looping = ServiceState("restarting", 1, 3, None, "always")
    with pytest.raises(ServiceCrashed) as caught:
        probe(refused, timeout=3, watcher=Engine(looping)).chat_health()
    assert caught.value.services == ("chat",)


def test_the_engine_is_asked_sparingly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "ENGINE_EVERY_SECONDS", 10.0)
    engine = Engine(ServiceState("running", 0, 0, None, ""))
    with pytest.raises(ProxyCallFailed):
        probe(refused, timeout=0.25, watcher=engine).proxy_call()
    assert engine.asked == ["web"]


def test_a_dependency_that_exited_is_seen_while_the_service_has_no_container() -> None:
    class DbGone:
        def state(self, service: str) -> ServiceState | None:
            return EXITED if service == "db" else None

    with pytest.raises(ServiceCrashed, match=r"^db exited with code 3"):
        probe(refused, timeout=3, watcher=DbGone()).chat_dependencies()


def test_a_web_without_a_port_yet_is_waited_for_not_called_unreachable() -> None:
    from smoke.errors import PortUnavailable

    class NoPort:
        def url(self, service: str) -> str:
            raise PortUnavailable("web has no published port in project p")

    client = httpx.Client(transport=httpx.MockTransport(refused))
    waiting = Probe(NoPort(), 0.15, client, watcher=Engine(HEALTHY))
    with pytest.raises(ProxyCallFailed) as caught:
        waiting.proxy_call()
    assert str(caught.value) == (
        "web did not accept the call within 0.15s: web has no published port in project p; "
        "the engine says web is running, healthy, exit code 0, 0 restarts"
    )


def test_a_web_that_restarted_on_a_new_port_is_found_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(probes, "PORT_REFRESH_SECONDS", 0.0)
    ports = iter(["http://web:3000", "http://web:3001"])

    class Moving:
        def url(self, service: str) -> str:
            return next(ports)

    def web(request: httpx.Request) -> httpx.Response:
        if request.url.port == 3000:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"answer": "x"})

    client = httpx.Client(transport=httpx.MockTransport(web))
    assert Probe(Moving(), 2.0, client).proxy_call().status_code == 200
