"""One run's tracing: the receiver started on the route, a failed step explained
from its trace, the slowest request found, spans read from the logs."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from smoke.clock import FakeClock
from smoke.stack.state import ServiceState
from smoke.trace.collector import Collector
from smoke.trace.context import Tracer
from smoke.trace.route import Route
from smoke.trace.spans import Span


def served(tracer: Tracer, status: int) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status))


def span_json(trace_id: str, parent: str, service: str, status: int, **extra: object) -> str:
    attributes = [{"key": "http.response.status_code", "value": {"intValue": str(status)}}]
    attributes += [{"key": k, "value": {"stringValue": str(v)}} for k, v in extra.items()]
    span = {
        "traceId": trace_id,
        "spanId": "c" * 16,
        "parentSpanId": parent,
        "name": "GET /health/dependencies",
        "kind": 2,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000001000000",
        "attributes": attributes,
        "status": {"code": 2},
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return json.dumps(
        {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}
    )


@pytest.fixture
def traced() -> Iterator[tuple[Tracer, httpx.Client]]:
    tracer = Tracer()
    with tracer.client(served(tracer, 503)) as client:
        yield tracer, client


def test_spans_read_from_the_logs_explain_a_failed_step(
    traced: tuple[Tracer, httpx.Client],
) -> None:
    tracer, client = traced
    collector = Collector(tracer, Route("log", None, 20001))
    collector.start()  # nothing to listen for on the log route
    assert collector.receiver is None
    assert (
        collector.describe()
        == "trace: spans from the services' logs (the engine cannot reach this process)"
    )
    with tracer.step("deps"):
        client.get("http://chat/health/dependencies")
    (request,) = [s for s in tracer.spans() if s.name.startswith("GET")]
    line = span_json(request.trace_id, request.span_id, "chat", 503, **{"db.state.reason": "gone"})
    logs = (
        f"chat-1  | 2026-12-04T10:00:00Z {line}\n"
        f"chat-1  | 2026-12-04T10:00:00Z INFO 503 trace_id={request.trace_id} span_id={'c' * 16}\n"
        "chat-1  | 2026-12-04T10:00:01Z INFO another line\n"
        + span_json("f" * 32, "e" * 16, "chat", 503)  # another run's trace: not ours
    )
    said = collector.explain("deps", lambda: logs)
    assert said.blame == "blame: chat 503 ← db: unavailable (gone)"
    assert said.tree[0].startswith("smoke GET /health/dependencies  503")
    assert said.log_lines == (logs.splitlines()[1],)
    assert said.missing is None
    assert {s.service for s in collector.spans()} == {"smoke", "chat"}


def test_no_trace_is_said_and_why(traced: tuple[Tracer, httpx.Client]) -> None:
    tracer, client = traced
    collector = Collector(tracer)  # URL mode: no route
    assert collector.describe().startswith("trace: context on every request")
    with tracer.step("deps"):
        client.get("http://chat/health/dependencies")
    with tracer.step("nothing asked"):
        pass
    said = collector.explain("deps", None)
    assert said.missing == "no trace: web and chat sent no span all run (tracing off there?)"
    assert said.blame is None
    assert collector.explain("nothing asked", None).missing.startswith("no trace: step made no")  # type: ignore[union-attr]
    assert collector.explain("never ran", None).missing is None
    broken = collector.explain("deps", lambda: (_ for _ in ()).throw(OSError("gone")))
    assert broken.missing is not None  # logs that cannot be read: evidence goes without


def test_off_says_so() -> None:
    collector = Collector(Tracer(enabled=False), Route("otlp", "127.0.0.1", 0))
    collector.start()
    assert collector.receiver is None
    assert collector.describe() == "trace: off: requests carry no trace context"
    assert collector.explain("any", None).missing == "no trace: tracing is off"


def test_the_receiver_starts_on_the_route_and_keeps_what_it_got_after_closing(
    traced: tuple[Tracer, httpx.Client],
) -> None:
    tracer, client = traced
    collector = Collector(tracer, Route("otlp", "127.0.0.1", 0))
    collector.start()
    assert collector.receiver is not None
    host, port = collector.receiver.address
    with tracer.step("deps"):
        client.get("http://chat/health/dependencies")
    (request,) = [s for s in tracer.spans() if s.name.startswith("GET")]
    body = span_json(request.trace_id, request.span_id, "chat", 503)
    httpx.post(
        f"http://{host}:{port}/v1/traces",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert collector.explain("deps", None).blame == "blame: chat 503"
    collector.close()
    collector.close()  # twice is fine
    assert {s.service for s in collector.spans()} == {"smoke", "chat"}


def test_a_failed_step_waits_for_the_spans_of_the_answer_it_got(fake_clock: FakeClock) -> None:
    """chat answered 503 and sends its finished span a moment later (its batch, a
    loaded machine): the explanation waits for that span, not for any other, and no
    longer than it takes to come; a request no service answered waits for nothing."""
    tracer = Tracer()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "nowhere":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(503)

    collector = Collector(tracer, Route("otlp", "127.0.0.1", 0))
    collector.start()
    assert collector.receiver is not None
    host, port = collector.receiver.address
    with tracer.client(httpx.MockTransport(answer)) as client:
        with tracer.step("refused"), pytest.raises(httpx.ConnectError):
            client.get("http://nowhere/health")
        with tracer.step("deps"):
            client.get("http://chat/health/dependencies")
    (request,) = [s for s in tracer.spans() if s.name.startswith("GET /health/dep")]

    def send(line: str) -> None:
        headers = {"Content-Type": "application/json"}
        httpx.post(f"http://{host}:{port}/v1/traces", content=line, headers=headers)

    started = fake_clock.monotonic()
    collector.explain("refused", None)
    assert fake_clock.monotonic() == started  # no answer: no span to wait for
    finished = span_json(request.trace_id, request.span_id, "chat", 503)
    send(finished.replace('"endTimeUnixNano": "1700000000001000000", ', ""))  # its start
    other = span_json(request.trace_id, "d" * 16, "chat", 200).replace("c" * 16, "e" * 16)
    send(other)  # another span of the trace, finished

    def chat_exports_late() -> None:
        fake_clock.wait(threading.Event(), 0.4)
        send(finished)

    sender = threading.Thread(target=chat_exports_late, daemon=True)
    sender.start()
    try:
        started = fake_clock.monotonic()
        assert collector.explain("deps", None).blame == "blame: chat 503"
        assert 0.4 <= fake_clock.monotonic() - started < 1.0  # as it came, not at the limit
    finally:
        fake_clock.advance(1)  # its turn, if the explanation did not wait for it
        sender.join(timeout=5)
        collector.close()


def test_a_port_that_is_taken_means_no_trace_said_at_the_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        collector = Collector(Tracer(), Route("otlp", "127.0.0.1", port))
        collector.start()
    assert collector.receiver is None
    assert collector.describe().startswith(f"trace: no trace: cannot listen on 127.0.0.1:{port} (")


def test_slowest_is_the_runs_or_a_steps_and_only_when_it_took_the_time() -> None:
    ticks = iter(float(n) for n in range(100))
    tracer = Tracer(clock=lambda: next(ticks))
    collector = Collector(tracer)
    with tracer.client(httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        with tracer.step("quick"):
            client.get("http://chat/a")
        with tracer.step("slow"):
            client.get("http://chat/b")
            client.get("http://chat/c")
    assert collector.slowest() == "slowest: GET /a (quick) 1.00 s, no service's span under it"
    assert collector.slowest("slow") == "slowest: GET /b (slow) 1.00 s, no service's span under it"
    assert collector.slowest("slow", within=3) is None  # polls, no one request to blame
    assert collector.slowest("slow", within=2) is not None
    assert collector.slowest("none") is None


def test_a_steps_background_fetch_is_never_its_slowest_request(fake_clock: FakeClock) -> None:
    """The contract fetch the dependency step carries is the run's, not the step's:
    a step that timed out is not explained by it, started first or still in flight."""
    tracer = Tracer()
    collector = Collector(tracer)
    held = threading.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openapi.json" and request.url.params.get("late"):
            held.wait(5)  # in flight, on a loaded machine, until the test lets it go
        fake_clock.advance(5.0 if request.url.path == "/openapi.json" else 1.0)
        return httpx.Response(200)

    with tracer.client(httpx.MockTransport(answer)) as client:
        with tracer.step("deps"):
            tracer.carry(lambda: client.get("http://chat/openapi.json"))()
            client.get("http://chat/health/dependencies")
            late = threading.Thread(
                target=tracer.carry(lambda: client.get("http://chat/openapi.json?late=1")),
                daemon=True,
            )
        late.start()  # after the step: its span stays open while it is in flight
        try:
            for _ in range(500):  # its request made, within a real second
                if any(str(s.attr("url.full")).endswith("late=1") for s in tracer.spans()):
                    break
                threading.Event().wait(0.002)
            fake_clock.advance(7.0)
            assert collector.slowest("deps") == (
                "slowest: GET /health/dependencies (deps) 1.00 s, no service's span under it"
            )
            assert collector.slowest() == (  # the run's: the fetch, its time so far
                "slowest: GET /openapi.json (deps) 7.00 s, no service's span under it"
            )
        finally:
            held.set()
            late.join(timeout=5)


def _state(export: str, endpoint: str) -> ServiceState:
    return ServiceState(
        "running", None, 0, None, "", "c1", trace_export=export, trace_endpoint=endpoint
    )


def test_a_service_that_sends_its_spans_elsewhere_is_named_with_where(
    traced: tuple[Tracer, httpx.Client],
) -> None:
    tracer, client = traced
    collector = Collector(tracer, route=Route("otlp", "172.17.0.1", 28249))
    with tracer.step("proxy"):
        client.get("http://web/api/chat/service")
    states = {
        "web": _state("otlp", "http://host.docker.internal:4318/v1/traces"),  # by hand
        "chat": _state("otlp", "http://host.docker.internal:28249/v1/traces"),  # this run's
    }
    said = collector.explain("proxy", None, states.get)
    assert said.missing == (
        "no trace: web sent no span all run: it sends them to "
        "http://host.docker.internal:4318/v1/traces, and this run reads them at "
        "http://host.docker.internal:28249/v1/traces; it was started without this run's "
        "settings (recreated by hand?): a run without --attach recreates it with them; "
        "chat sent no span all run (its trace settings are this run's: is tracing off in "
        "its code?)"
    )


def test_services_that_sent_spans_but_none_for_this_request_are_not_called_silent(
    traced: tuple[Tracer, httpx.Client],
) -> None:
    tracer, client = traced
    collector = Collector(tracer)
    with tracer.step("earlier"):
        client.get("http://chat/health")
    root = next(s for s in tracer.spans() if s.parent_id is None)
    for service in ("web", "chat"):  # what came back for the earlier step
        collector._received.append(
            Span(root.trace_id, service[0] * 16, root.span_id, service, "GET /x", 2, 1.0, 1.1)
        )
    with tracer.step("proxy"):
        client.get("http://web/api/chat/service")
    said = collector.explain("proxy", None)
    assert said.missing == (
        "no trace: web and chat sent spans this run, none for this request (it reached no "
        "traced service, or its span was still open when the step ended)"
    )


def test_a_request_that_got_no_answer_is_said_so_not_blamed_on_tracing() -> None:
    tracer = Tracer()

    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("Connection reset by peer", request=request)

    with (
        tracer.client(httpx.MockTransport(dropped)) as client,
        tracer.step("proxy"),
        pytest.raises(httpx.ReadError),
    ):
        client.post("http://web/api/chat/service")
    said = Collector(tracer, route=Route("otlp", "172.17.0.1", 28249)).explain("proxy", None)
    assert said.missing == "no trace: the request got no answer, so no span"


def test_only_the_service_a_request_went_to_and_those_behind_it_are_called_silent(
    traced: tuple[Tracer, httpx.Client],
) -> None:
    """chat's dependency check failed with no span: web was never asked, so its
    silence says nothing."""
    tracer, client = traced
    collector = Collector(tracer)
    with tracer.step("deps"):
        client.get("http://chat/health/dependencies")
    said = collector.explain(
        "deps", None, addressed={"http://chat/health/dependencies": "chat"}.get
    )
    assert said.missing == "no trace: chat sent no span all run (tracing off there?)"
    with tracer.step("proxy"):
        client.get("http://web/api/chat/service")
    said = collector.explain("proxy", None, addressed=lambda url: "web")
    assert said.missing == "no trace: web and chat sent no span all run (tracing off there?)"


def test_a_read_that_timed_out_names_the_service_that_took_the_connection() -> None:
    tracer = Tracer()

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with (
        tracer.client(httpx.MockTransport(slow)) as client,
        tracer.step("proxy"),
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post("http://web/api/chat/service")
    collector = Collector(tracer, route=Route("otlp", "172.17.0.1", 28249))
    said = collector.explain("proxy", None, addressed=lambda url: "web")
    assert said.missing is not None
    assert said.missing.startswith("no trace: web took the connection and gave no answer in ")
    assert said.missing.endswith(
        "s; no span of it came back (a service without start records sends its span only "
        "when the request ends)"
    )
    unknown = collector.explain("proxy", None)  # whose address it was is not known
    assert unknown.missing == "no trace: the request got no answer, so no span"


def test_where_a_silent_service_sends_its_spans_is_said_from_its_settings() -> None:
    def state(export: str, endpoint: str = "") -> ServiceState:
        return ServiceState(
            "running", None, 0, None, "", trace_export=export, trace_endpoint=endpoint
        )

    otlp = Route("otlp", "172.17.0.1", 24318)
    here = Collector(Tracer(), otlp)
    reads = otlp.describe_short()
    said = {
        name: here._elsewhere("chat", lambda service, s=found: s)  # type: ignore[misc]
        for name, found in {
            "this run's": state("otlp", "http://172.17.0.1:24318/v1/traces"),
            "another endpoint": state("otlp", "http://collector:4318/v1/traces"),
            "the logs": state("log"),
            "nothing": state(""),
        }.items()
    }
    tail = (
        "; it was started without this run's settings (recreated by hand?): a run without "
        "--attach recreates it with them"
    )
    assert said == {
        "this run's": " (its trace settings are this run's: is tracing off in its code?)",
        "another endpoint": (
            f": it sends them to http://collector:4318/v1/traces, and this run reads them "
            f"{reads}{tail}"
        ),
        "the logs": f": it sends them by log export, and this run reads them {reads}{tail}",
        "nothing": f": it sends them by no export, and this run reads them {reads}{tail}",
    }
    assert here._elsewhere("chat", lambda service: None) == " (tracing off there?)"
    assert here._elsewhere("chat", None) == " (tracing off there?)"
    unrouted = Collector(Tracer())
    assert unrouted._elsewhere("chat", lambda service: state("log")) == " (tracing off there?)"
    on_logs = Collector(Tracer(), Route("log", None, 0))
    assert on_logs._elsewhere("chat", lambda service: state("log")) == (
        " (its trace settings are this run's: is tracing off in its code?)"
    )
