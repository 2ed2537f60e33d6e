"""The HTTP checks one by one, against services stood in for with httpx's
MockTransport, and the engine stood in for where a wait asks it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from smoke import clock
from smoke.checks import probes, waiting
from smoke.checks.probes import FixedEndpoints, Probe, Seen, excerpt
from smoke.errors import (
    ChatHealthTimeout,
    DependencyFailure,
    PageFailed,
    PersistenceFailed,
    PortUnavailable,
    ProxyCallFailed,
    ProxyCallTimedOut,
    SemanticMismatch,
    ServiceCrashed,
    StackMismatch,
    Unreachable,
)
from smoke.plan import MIN_MARGIN, PARAPHRASES, check_semantic_retrieval
from smoke.stack.state import ServiceState

Handler = Callable[[httpx.Request], httpx.Response]


def probe(handler: Handler, *, timeout: float = 1.0, watcher: Any = None) -> Probe:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Probe(FixedEndpoints("http://web", "http://chat"), timeout, client, watcher=watcher)


class Engine:
    """The engine's view, one state per ask, the last repeated."""

    def __init__(self, *states: ServiceState | None, db: ServiceState | None = None) -> None:
        self.states = list(states)
        self.db = db
        self.asked: list[str] = []

    def state(self, service: str) -> ServiceState | None:
        self.asked.append(service)
        if service == "db":
            return self.db
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    listens: str | None = "anywhere"
    published: str = "http://chat"

    def listening(self, service: str) -> str | None:
        self.asked.append(f"listening {service}")
        return self.listens

    def url(self, service: str) -> str:
        return self.published


@pytest.fixture(autouse=True)
def ask_the_engine_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "ENGINE_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(waiting, "ENGINE_EVERY_SECONDS", 0.0)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def in_turn(*handlers: Handler) -> Handler:
    """Each request answered by the next handler, the last one for good."""
    answers = iter(handlers)
    current: list[Handler] = [next(answers)]

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            return current[0](request)
        finally:
            current[0] = next(answers, current[0])

    return handler


def test_excerpt_and_seen() -> None:
    assert excerpt("a  b\n c") == "a b c"
    assert excerpt("x" * 400) == "x" * 299 + "…"
    assert excerpt("abcdef", limit=4) == "abc…"
    assert Seen(None, "ConnectError").describe() == "ConnectError"
    assert Seen(503, "").describe() == "HTTP 503"
    assert Seen(503, "db down").describe() == "HTTP 503: db down"


def test_health_passes_as_soon_as_chat_answers() -> None:
    handler = in_turn(refused, lambda r: httpx.Response(200, json={"status": "ok"}))
    assert probe(handler).chat_health() == {"status": "ok"}


def test_health_200_with_a_plain_or_non_object_body_is_healthy() -> None:
    assert probe(lambda r: httpx.Response(200, text="OK")).chat_health() == {}
    assert probe(lambda r: httpx.Response(200, json=["ok"])).chat_health() == {}
    with pytest.raises(StackMismatch, match=r"reports stack None, expected 'local'"):
        probe(lambda r: httpx.Response(200, text="OK")).local_stack("local")


def test_a_timeout_says_what_it_last_saw_and_what_the_engine_said() -> None:
    engine = Engine(ServiceState("running", None, 0, "starting", ""))
    with pytest.raises(ChatHealthTimeout) as caught:
        probe(
            lambda r: httpx.Response(500, text="not yet"), timeout=0.15, watcher=engine
        ).chat_health()
    message = str(caught.value)
    assert message.startswith("chat /health not ready after 0.")
    assert "(timeout 0.15s); last seen: HTTP 500: not yet" in message
    assert message.endswith(
        "; the engine says chat is running, starting, exit code None, 0 restarts"
    )
    assert (caught.value.status, caught.value.body) == (500, "not yet")


def test_without_an_engine_nothing_is_asked() -> None:
    with pytest.raises(ChatHealthTimeout) as caught:
        probe(refused, timeout=0.2).chat_health()
    assert "the engine says" not in str(caught.value)


def test_an_exited_service_fails_at_once() -> None:
    engine = Engine(ServiceState("exited", 3, 0, None, ""))
    with pytest.raises(ServiceCrashed) as caught:
        probe(refused, timeout=2, watcher=engine).chat_health()
    assert str(caught.value).startswith(
        "chat exited with code 3 and no restart policy will bring it back (after 0."
    )
    assert caught.value.services == ("chat",)
    assert caught.value.elapsed == 0.0  # the step runner fills it in


def test_a_restarting_service_is_waited_for_until_it_loops() -> None:
    engine = Engine(
        ServiceState("restarting", 1, 1, None, "always"),
        ServiceState("restarting", 1, 2, None, "always"),
        ServiceState("running", 0, 3, None, "always"),  # just restarted: its code reset
    )
    with pytest.raises(
        ServiceCrashed, match=r"chat is crash-looping: restarted 3 times, last exit code 1 \("
    ):
        probe(refused, timeout=2, watcher=engine).chat_health()
    assert engine.asked.count("chat") == 3


def test_a_loop_seen_only_running_names_no_exit_code() -> None:
    engine = Engine(ServiceState("running", 0, 4, None, "always"))
    with pytest.raises(ServiceCrashed) as caught:
        probe(refused, timeout=2, watcher=engine).chat_health()
    assert str(caught.value).startswith("chat is crash-looping: restarted 4 times (after ")


def test_healthy_in_the_engine_but_unreachable_from_here() -> None:
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    with pytest.raises(Unreachable) as caught:
        probe(refused, timeout=2, watcher=engine).chat_health()
    assert str(caught.value) == (
        "chat is running and healthy in the engine, but the smoke cannot reach it at chat"
        " (it listens in its container, and its port is published there)"
    )
    assert caught.value.failure_class == "unreachable from the smoke"


def test_healthy_but_not_listening_yet_is_waited_for_not_unreachable() -> None:
    """A loose healthcheck (`CMD true`) says healthy before the service listens."""
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    engine.listens = "nowhere"
    with pytest.raises(ChatHealthTimeout, match=r"not ready after"):
        probe(refused, timeout=0.3, watcher=engine).chat_health()
    engine.listens = None  # cannot be told (no `cat` in the image): not unreachable either
    with pytest.raises(ChatHealthTimeout):
        probe(refused, timeout=0.3, watcher=engine).chat_health()


def test_a_service_that_starts_listening_right_after_a_refusal_is_not_unreachable() -> None:
    """The evidence held once, between a refused connection and the next attempt,
    which succeeds: the wait passes."""
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    handler = in_turn(refused, refused, lambda r: httpx.Response(200, json={"status": "ok"}))
    assert probe(handler, timeout=2, watcher=engine).chat_health() == {"status": "ok"}
    assert engine.asked.count("listening chat") == 1


def test_healthy_but_published_elsewhere_now_is_not_unreachable() -> None:
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    engine.published = "http://chat:9999"
    with pytest.raises(ChatHealthTimeout):
        probe(refused, timeout=0.3, watcher=engine).chat_health()


def test_healthy_then_killed_is_said_as_the_engine_says_it() -> None:
    healthy = ServiceState("running", None, 0, "healthy", "", container="c1", started_at="t0")
    killed = ServiceState("exited", 137, 0, None, "", container="c1", started_at="t0")
    with pytest.raises(ServiceCrashed) as caught:
        probe(refused, timeout=2, watcher=Engine(healthy, killed)).chat_health()
    assert str(caught.value).startswith(
        "chat was killed (exit code 137, SIGKILL) and no restart policy will bring it back"
    )
    oom = ServiceState("exited", 137, 0, None, "", oom_killed=True, memory_limit=64 * 2**20)
    with pytest.raises(ServiceCrashed, match=r"chat was OOM-killed \(memory limit 64 MiB, exit"):
        probe(refused, timeout=2, watcher=Engine(oom)).chat_health()


def test_an_oom_kill_the_engine_flags_late_is_said_as_one() -> None:
    """Under load the engine's OOM event can follow the exit by a second: asked again
    as a wait polls, for a bounded time."""
    limit = 48 * 2**20
    unflagged = ServiceState(
        "exited", 137, 0, None, "", container="c1", started_at="t0", memory_limit=limit
    )
    flagged = replace(unflagged, oom_killed=True)
    engine = Engine(unflagged, unflagged, unflagged, unflagged, flagged)
    with pytest.raises(ServiceCrashed, match=r"chat was OOM-killed \(memory limit 48 MiB, exit"):
        probe(refused, timeout=2, watcher=engine).chat_health()
    assert engine.asked.count("chat") == 5  # asked until it said so, and no more
    never = Engine(unflagged)  # no flag, ever: killed, as the engine says
    started = clock.monotonic()
    never_said = r"chat was killed \(exit code 137, SIGKILL; memory limit 48 MiB, no OOM kill"
    with pytest.raises(ServiceCrashed, match=never_said):
        probe(refused, timeout=60, watcher=never).chat_health()
    waited = clock.monotonic() - started
    assert waiting.OOM_FLAG_SECONDS - waiting.POLL_MAX <= waited <= waiting.OOM_FLAG_SECONDS
    assert 3 < never.asked.count("chat") < 30  # polled, not flooded


def test_healthy_then_restarted_is_not_unreachable() -> None:
    before = ServiceState("running", None, 0, "healthy", "", container="c1", started_at="t0")
    after = ServiceState("running", None, 1, "starting", "", container="c1", started_at="t1")
    engine = Engine(before, after)
    with pytest.raises(ChatHealthTimeout):
        probe(refused, timeout=0.3, watcher=engine).chat_health()


def test_healthy_but_answering_non_200_is_not_unreachable() -> None:
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    with pytest.raises(ChatHealthTimeout):
        probe(lambda r: httpx.Response(503), timeout=0.15, watcher=engine).chat_health()


def test_the_dependency_wait_watches_db_too() -> None:
    engine = Engine(
        ServiceState("running", None, 0, None, ""), db=ServiceState("exited", 1, 0, None, "")
    )
    with pytest.raises(ServiceCrashed, match=r"^db exited with code 1") as caught:
        probe(lambda r: httpx.Response(503, json={}), timeout=2, watcher=engine).chat_dependencies()
    assert caught.value.services == ("db",)


def dependencies(status: int, db: dict[str, Any]) -> Handler:
    return lambda r: httpx.Response(status, json={"dependencies": {"db": db}})


def test_dependencies_pass_only_when_db_says_ok() -> None:
    ok = {"status": "ok", "latency_ms": 1.5}
    assert probe(dependencies(200, ok)).chat_dependencies()["dependencies"]["db"] == ok
    for handler in (
        dependencies(200, {"status": "error"}),
        lambda r: httpx.Response(200, text="not json"),
        lambda r: httpx.Response(200, json={"dependencies": "db"}),
        lambda r: httpx.Response(200, json={"dependencies": {"db": ["ok"]}}),
    ):
        with pytest.raises(DependencyFailure):
            probe(handler, timeout=0.1).chat_dependencies()


def test_a_hopeless_db_fails_at_once_with_its_reason() -> None:
    db = {
        "status": "error",
        "reason": "authentication failed",
        "transient": False,
        "detail": 'password authentication failed for user "contoso"',
    }
    with pytest.raises(DependencyFailure) as caught:
        probe(dependencies(503, db), timeout=2).chat_dependencies()
    assert str(caught.value) == (
        "chat dependency (db) failed: authentication failed (password authentication "
        'failed for user "contoso")'
    )
    no_detail = {**db, "detail": None}
    with pytest.raises(DependencyFailure, match=r"authentication failed \(no detail\)"):
        probe(dependencies(503, no_detail), timeout=2).chat_dependencies()


def test_a_transient_reason_is_waited_out() -> None:
    db = {"status": "error", "reason": "connecting", "transient": True}
    with pytest.raises(DependencyFailure, match=r"not ready after .*last seen: HTTP 503"):
        probe(dependencies(503, db), timeout=0.15).chat_dependencies()


def test_the_proxy_call_posts_the_question_and_needs_200() -> None:
    seen: list[bytes] = []

    def web(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, json={"answer": "x"})

    assert probe(web).proxy_call("tents?").json() == {"answer": "x"}
    assert seen == [b'{"question":"tents?"}']
    with pytest.raises(ProxyCallFailed) as caught:
        probe(lambda r: httpx.Response(502, text='{"error": "chat unreachable"}')).proxy_call()
    assert str(caught.value) == 'web answered HTTP 502: {"error": "chat unreachable"}'
    assert caught.value.status == 502


def test_the_proxy_call_waits_only_while_web_is_not_listening() -> None:
    with pytest.raises(
        ProxyCallFailed, match=r"web did not accept the call within 0.15s: ConnectError"
    ):
        probe(refused, timeout=0.15).proxy_call()


def test_a_slow_answer_is_a_timeout_not_a_hang() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(
        ProxyCallTimedOut, match=r"timed out after 0\.\d+s \(timeout 1s\)"
    ) as caught:
        probe(slow).proxy_call()
    # No status came: not a non-200, and nothing says web cannot reach chat.
    assert caught.value.failure_class == "web -> chat proxy call timeout"
    assert caught.value.timed_out


def test_the_page_needs_a_form() -> None:
    probe(lambda r: httpx.Response(200, html="<form></form>")).web_page()
    with pytest.raises(PageFailed, match=r"answered HTTP 200 without a question form"):
        probe(lambda r: httpx.Response(200, html="<p>hi</p>")).web_page()
    with pytest.raises(PageFailed, match=r"answered HTTP 500"):
        probe(lambda r: httpx.Response(500, html="<form>")).web_page()
    with pytest.raises(PageFailed, match=r"web page / failed: ConnectError"):
        probe(refused).web_page()


def conversation(status: int, **body: Any) -> Handler:
    return lambda r: httpx.Response(status, json=body)


def test_the_conversation_must_hold_the_exchange() -> None:
    stored = conversation(200, messages=[{"content": "q"}, {"content": "a"}])
    probe(stored).conversation("c1", "q", "a")
    cases = [
        (stored, None, "the answer carries no conversation_id to read back"),
        (stored, "", "the answer carries no conversation_id to read back"),
        (conversation(404, error="x"), "c1", "conversation c1 answered HTTP 404"),
        (conversation(200, messages=[{"content": "q"}]), "c1", "does not hold the exchange"),
        (lambda r: httpx.Response(200, text="nope"), "c1", "is not a JSON conversation"),
        (refused, "c1", "reading the conversation failed: ConnectError"),
    ]
    for handler, conversation_id, said in cases:
        with pytest.raises(PersistenceFailed, match=said):
            probe(handler).conversation(conversation_id, "q", "a")


def test_the_stack_chat_reports() -> None:
    local = {"stack": "local", "model": "m"}
    assert probe(lambda r: httpx.Response(200, json=local)).local_stack("local") == local
    with pytest.raises(StackMismatch, match=r"reports stack 'minimal', expected 'local'"):
        probe(lambda r: httpx.Response(200, json={"stack": "minimal"})).local_stack("local")


def answering(scores: dict[str, list[float]] | None = None, **skus: list[str]) -> Handler:
    """web answering each paraphrase with the sources (and scores) given for its product."""
    meant = dict(PARAPHRASES)

    def handler(request: httpx.Request) -> httpx.Response:
        sku = meant[json.loads(request.content)["question"]]
        body: dict[str, object] = {"answer": "a", "sources": skus.get(sku, [sku, "TENT-001"])}
        if scores is not None:
            body["scores"] = scores.get(sku, [0.6, 0.3])
        return httpx.Response(200, json=body)

    return handler


def test_semantic_retrieval_asks_every_paraphrase_and_notes_the_margins() -> None:
    asked: list[str] = []
    handler = answering(scores={})

    def recording(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content)["question"])
        return handler(request)

    note = check_semantic_retrieval(probe(recording))
    assert asked == [question for question, _ in PARAPHRASES]
    assert len(asked) >= 3
    assert (
        note
        == f"{len(PARAPHRASES)} paraphrases, each its product first (margins "
        + ", ".join(["0.30"] * len(PARAPHRASES))
        + ")"
    )
    # A chat that reports no scores is held to the order alone.
    assert check_semantic_retrieval(probe(answering())) == (
        f"{len(PARAPHRASES)} paraphrases, each its product first"
    )


def test_semantic_retrieval_wants_each_product_first() -> None:
    question, sku = PARAPHRASES[1]
    for sources, got in (
        (["TENT-001", sku], f"['TENT-001', '{sku}']"),
        ([], "[]"),
        ("BAG-001", "'BAG-001'"),
    ):
        with pytest.raises(SemanticMismatch) as caught:
            check_semantic_retrieval(probe(answering(**{sku: sources})))  # type: ignore[arg-type]
        assert str(caught.value) == (
            f'asked "{question}" (no word in common with {sku}): expected '
            f"{sku} first in sources, got {got}"
        )
    for handler in (
        lambda r: httpx.Response(200, json=["x"]),
        lambda r: httpx.Response(200, text="no json"),
    ):
        with pytest.raises(SemanticMismatch, match=r"got None$"):
            check_semantic_retrieval(probe(handler))


def test_semantic_retrieval_wants_a_lead_not_a_near_tie() -> None:
    question, sku = PARAPHRASES[2]
    near_tie = [0.40, 0.40 - MIN_MARGIN / 2]
    with pytest.raises(SemanticMismatch) as caught:
        check_semantic_retrieval(probe(answering(scores={sku: near_tie})))
    assert str(caught.value) == (
        f'asked "{question}": {sku} first by 0.025 only (scores [0.4, 0.375]); retrieval by '
        f"meaning should lead by {MIN_MARGIN} or more"
    )
    assert caught.value.status == 200
    assert caught.value.body is not None
    assert f'"sources":["{sku}","TENT-001"]' in caught.value.body
    just_enough = [0.40, 0.40 - MIN_MARGIN]
    assert check_semantic_retrieval(probe(answering(scores={sku: just_enough})))


def test_a_port_looked_up_again_only_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []

    class Endpoints:
        def url(self, service: str) -> str:
            lookups.append(service)
            if len(lookups) == 1:
                raise PortUnavailable("not yet")
            return "http://chat"

    p = Probe(Endpoints(), 1.0, httpx.Client(transport=httpx.MockTransport(refused)))
    with pytest.raises(PortUnavailable):
        p.url("chat", "/")
    assert p.url("chat", "/health") == "http://chat/health"
    p.forget("chat")  # looked up just now: kept
    assert p.url("chat", "/") == "http://chat/"
    assert len(lookups) == 2
    monkeypatch.setattr(probes, "PORT_REFRESH_SECONDS", 0.0)
    p.forget("chat")
    p.url("chat", "/")
    assert len(lookups) == 3


def test_each_request_of_a_wait_is_bounded_by_what_is_left_and_two_seconds() -> None:
    """A poll never hangs past the wait (nor for long on one stuck request); a call
    through web's proxy may take what is left of the wait, but not nothing."""
    asked: list[tuple[str, float]] = []

    def record(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.path, request.extensions["timeout"]["read"]))
        return httpx.Response(200, json={"status": "ok", "answer": "a"})

    probe(record, timeout=30).chat_health()
    probe(record, timeout=0.5).chat_health()
    probe(record, timeout=30).proxy_call()
    probe(record, timeout=0.01).proxy_call()
    (_, long_wait), (_, short_wait), (_, long_call), (_, short_call) = asked
    assert long_wait == 2.0
    assert 0.1 <= short_wait <= 0.5
    assert 29 < long_call <= 30
    assert short_call == 0.1


def test_a_wait_that_never_gets_an_answer_says_what_it_saw_last() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ChatHealthTimeout) as caught:
        probe(refuse, timeout=0.2).chat_health()
    assert "last seen: ConnectError: connection refused" in str(caught.value)
    assert (caught.value.status, caught.value.body) == (None, "ConnectError: connection refused")
    with pytest.raises(ProxyCallFailed) as refused:
        probe(refuse, timeout=0.2).proxy_call()
    assert str(refused.value) == (
        "web did not accept the call within 0.2s: ConnectError: connection refused"
    )


class _CountedEndpoints:
    def __init__(self, *, fail: bool) -> None:
        self.fail = fail
        self.asked: list[str] = []

    def url(self, service: str) -> str:
        self.asked.append(service)
        if self.fail:
            raise PortUnavailable(f"{service} has no published port yet")
        return f"http://127.0.0.1:1{len(self.asked)}"


def test_a_url_looked_up_beside_is_not_asked_for_again() -> None:
    from concurrent.futures import ThreadPoolExecutor

    endpoints = _CountedEndpoints(fail=False)
    probe = Probe(endpoints, 1.0, httpx.Client())
    with ThreadPoolExecutor(max_workers=1) as pool:
        probe.look_up_beside(pool, "web")
    assert probe.url("web", "/health") == "http://127.0.0.1:11/health"
    assert endpoints.asked == ["web"]


def test_a_lookup_beside_that_fails_is_left_to_the_step_that_needs_it() -> None:
    from concurrent.futures import ThreadPoolExecutor

    endpoints = _CountedEndpoints(fail=True)
    probe = Probe(endpoints, 1.0, httpx.Client())
    with ThreadPoolExecutor(max_workers=1) as pool:
        probe.look_up_beside(pool, "web")
    with pytest.raises(PortUnavailable, match="web has no published port yet"):
        probe.url("web", "/health")
    assert endpoints.asked == ["web", "web"]


@pytest.mark.parametrize(
    "reset",
    [httpx.ConnectError("refused"), httpx.RemoteProtocolError("Server disconnected")],
    ids=["refused", "reset-by-the-port-proxy"],
)
def test_every_proxy_call_try_made_again_is_marked_retried(reset: Exception) -> None:
    """While web starts, its published port may refuse, or accept and then drop the
    connection: each such try is made again, so each is marked a retried try (trace
    specs and the report leave it out), and the try that answered is not."""
    from smoke.trace.context import RETRIED, Tracer

    tries = iter([reset, reset, None])

    def web(request: httpx.Request) -> httpx.Response:
        failure = next(tries)
        if failure is not None:
            raise type(failure)(str(failure), request=request)
        return httpx.Response(200, json={"answer": "x"})

    tracer = Tracer()
    with tracer.client(httpx.MockTransport(web)) as client, tracer.step("proxy"):
        Probe(FixedEndpoints("http://web", "http://chat"), 2.0, client).proxy_call()
    requests = [s for s in tracer.spans() if s.name == "POST /api/chat/service"]
    assert [bool(s.attributes.get(RETRIED)) for s in requests] == [True, True, False]


def test_healthy_but_listening_only_on_its_loopback_is_named_at_once() -> None:
    """Its own healthcheck (from inside) passes; nothing outside can connect."""
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    engine.listens = "loopback"
    started = clock.monotonic()
    with pytest.raises(Unreachable) as caught:
        probe(refused, timeout=30, watcher=engine).chat_health()
    assert clock.monotonic() - started < 5  # not at the timeout
    assert str(caught.value).startswith(
        "chat listens only on its loopback address inside its container, so nothing "
        "outside the container can reach it"
    )
    assert caught.value.hint == "make chat listen on 0.0.0.0 (every address) inside its container"


def test_healthy_with_nothing_on_its_port_and_something_on_another_is_named_in_seconds() -> None:
    """Its healthcheck checks the port its app uses; the compose file publishes another."""
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    engine.listens = "elsewhere"
    started = clock.monotonic()
    with pytest.raises(Unreachable) as caught:
        probe(refused, timeout=30, watcher=engine).chat_health()
    took = clock.monotonic() - started
    assert 2 <= took < 8  # held for two seconds: not an app still opening its port
    assert str(caught.value).startswith(
        "nothing listens on chat's port inside its container, while another port there does"
    )
    assert "publishes" in str(caught.value.hint)


def test_a_service_that_opens_its_port_soon_after_another_is_not_named() -> None:
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    engine.listens = "elsewhere"
    handler = in_turn(
        refused, refused, refused, lambda r: httpx.Response(200, json={"status": "ok"})
    )
    assert probe(handler, timeout=5, watcher=engine).chat_health() == {"status": "ok"}


def test_a_url_is_traced_back_to_the_service_it_was_looked_up_for() -> None:
    endpoints = _CountedEndpoints(fail=False)
    probe = Probe(endpoints, 1.0, httpx.Client())
    probe.url("chat", "/health")  # http://127.0.0.1:11
    probe.url("web", "/")  # http://127.0.0.1:12
    assert probe.service_at("http://127.0.0.1:11/health/dependencies") == "chat"
    assert probe.service_at("http://127.0.0.1:12/api/chat/service") == "web"
    assert probe.service_at("http://127.0.0.1:110/health") is None  # another port
    assert probe.service_at("http://127.0.0.1:9/") is None


def test_the_engine_is_asked_again_only_of_an_unflagged_kill_under_a_limit_and_the_same_run() -> (
    None
):
    limit = 48 * 2**20

    def exited(code: int, *, oom: bool = False, run: str = "t0") -> ServiceState:
        return ServiceState(
            "exited",
            code,
            0,
            None,
            "",
            container="c1",
            started_at=run,
            memory_limit=limit,
            oom_killed=oom,
        )

    unlimited = replace(exited(137), memory_limit=None)
    # Not a kill, flagged already, or no limit to be over: asked once.
    for first in (exited(1), exited(137, oom=True), unlimited):
        engine = Engine(first, exited(137, oom=True))
        with pytest.raises(ServiceCrashed):
            probe(refused, timeout=2, watcher=engine).chat_health()
        assert engine.asked.count("chat") == 1
    # Started again, or removed: the kill as first seen, and no more asks.
    for then in (exited(137, oom=True, run="t1"), None):
        engine = Engine(exited(137), then)
        with pytest.raises(ServiceCrashed, match=r"chat was killed \(exit code 137, SIGKILL; "):
            probe(refused, timeout=2, watcher=engine).chat_health()
        assert engine.asked.count("chat") == 2


def test_the_loopback_and_other_port_verdicts_whole() -> None:
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    engine.listens = "loopback"
    with pytest.raises(Unreachable) as caught:
        probe(refused, timeout=30, watcher=engine).chat_health()
    assert str(caught.value) == (
        "chat listens only on its loopback address inside its container, so nothing "
        "outside the container can reach it (the smoke tried chat)"
    )
    assert caught.value.services == ("chat",)
    engine = Engine(ServiceState("running", None, 0, "healthy", ""))
    engine.listens = "elsewhere"
    with pytest.raises(Unreachable) as caught:
        probe(refused, timeout=30, watcher=engine).chat_health()
    assert caught.value.services == ("chat",)
    assert str(caught.value) == (
        "nothing listens on chat's port inside its container, while another port there does "
        "(for 2.1 s, chat healthy)"
    )
    assert caught.value.hint == (
        "chat's app listens on another port than the one its compose service publishes "
        "(its healthcheck checks that other port): make them one"
    )
