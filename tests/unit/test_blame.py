"""The blame line, the span tree, the slowest span and the request's own log lines,
read from traces shaped as web and chat send them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from smoke.trace.blame import Trace, blame, request_log_lines, slowest, tree_lines
from smoke.trace.spans import (
    KIND_CLIENT,
    KIND_INTERNAL,
    KIND_SERVER,
    STATUS_ERROR,
    STATUS_UNSET,
    Event,
    Span,
)

T = "a" * 32


def span(
    span_id: str,
    parent: str | None,
    service: str,
    name: str,
    kind: int,
    start: float,
    end: float | None,
    *,
    status: int | None = None,
    code: int = STATUS_UNSET,
    message: str = "",
    events: tuple[Event, ...] = (),
    **attributes: Any,
) -> Span:
    if status is not None:
        attributes["http.response.status_code"] = status
    return Span(
        T,
        span_id,
        parent,
        service,
        name,
        kind,
        start,
        end,
        code,
        message,
        {k.replace("__", "."): v for k, v in attributes.items()},
        events,
    )


def request(status: int | None = 500, end: float | None = 1.0) -> Span:
    return span(
        "r", "step", "smoke", "POST /api/chat/service", KIND_CLIENT, 0.0, end, status=status
    )


def web_to_chat(chat_status: int = 500, **chat: Any) -> list[Span]:
    return [
        span("step", None, "smoke", "web -> chat proxy call", KIND_INTERNAL, 0.0, 1.0),
        request(chat_status),
        span("w", "r", "web", "POST /api/chat/service", KIND_SERVER, 0.1, 0.9, status=chat_status),
        span(
            "wc",
            "w",
            "web",
            "POST",
            KIND_CLIENT,
            0.2,
            0.8,
            status=chat_status,
            server__address="chat",
            url__full="http://chat:8000/api/chat",
        ),
        span(
            "c", "wc", "chat", "POST /api/chat", KIND_SERVER, 0.3, 0.7, status=chat_status, **chat
        ),
    ]


def test_an_exception_in_chat_is_blamed_on_chat_with_its_type() -> None:
    raised = Event(
        "exception",
        0.5,
        {"exception.type": "builtins.RuntimeError", "exception.message": "catalog index corrupt"},
    )
    trace = Trace(web_to_chat(code=STATUS_ERROR, events=(raised,)), now=2.0)
    said = blame(trace, trace.failing_request() or request())
    assert said == "blame: web 500 ← chat 500: RuntimeError: catalog index corrupt"


def test_a_bare_500_without_words_still_names_the_hop() -> None:
    trace = Trace(web_to_chat(), now=2.0)
    assert blame(trace, trace.requests()[0]) == "blame: web 500 ← chat 500"


def test_db_down_is_blamed_on_db_from_chats_own_span() -> None:
    spans = web_to_chat(
        503,
        code=STATUS_ERROR,
        message="db unavailable: db host not found",
        db__state__reason="db host not found",
        db__state__unavailable_seconds=4.25,
    )
    trace = Trace(spans, now=2.0)
    said = blame(trace, trace.requests()[0])
    assert said == "blame: web 503 ← chat 503 ← db: unavailable for 4.2 s (db host not found)"


def test_a_failed_query_is_blamed_on_db_with_its_error() -> None:
    spans = [
        *web_to_chat(503),
        span(
            "q",
            "c",
            "chat",
            "SELECT",
            KIND_CLIENT,
            0.4,
            0.5,
            code=STATUS_ERROR,
            db__system="postgresql",
            events=(
                Event(
                    "exception",
                    0.5,
                    {
                        "exception.type": "psycopg.OperationalError",
                        "exception.message": "server closed the connection",
                    },
                ),
            ),
        ),
        span("ok", "c", "chat", "SELECT", KIND_CLIENT, 0.35, 0.36, db__system="postgresql"),
    ]
    trace = Trace(spans, now=2.0)
    said = blame(trace, trace.requests()[0])
    assert said == "blame: web 503 ← chat 503 ← db: OperationalError: server closed the connection"


def test_a_failed_span_of_chats_own_is_named_under_chat() -> None:
    spans = [
        *web_to_chat(),
        span(
            "rt",
            "c",
            "chat",
            "retrieval",
            KIND_INTERNAL,
            0.4,
            0.5,
            code=STATUS_ERROR,
            message="model missing",
        ),
    ]
    trace = Trace(spans, now=2.0)
    assert (
        blame(trace, trace.requests()[0]) == "blame: web 500 ← chat 500: retrieval: model missing"
    )


def test_web_that_cannot_reach_chat_is_blamed_on_its_call_with_the_socket_cause() -> None:
    refused = Event(
        "exception",
        0.5,
        {
            "exception.type": "httpx.ConnectError",
            "exception.message": "All connection attempts failed",
        },
    )
    spans = [
        request(502),
        span(
            "w",
            "r",
            "web",
            "POST /api/chat/service",
            KIND_SERVER,
            0.1,
            0.9,
            status=502,
            code=STATUS_ERROR,
            error__cause="connection refused",
        ),
        span(
            "wc",
            "w",
            "web",
            "POST",
            KIND_CLIENT,
            0.2,
            0.3,
            code=STATUS_ERROR,
            events=(refused,),
            server__address="chat",
            url__full="http://chat:9/api/chat",
        ),
    ]
    trace = Trace(spans, now=2.0)
    said = blame(trace, trace.requests()[0])
    assert said == "blame: web 502 ← web → chat: connection refused (http://chat:9/api/chat)"
    # A web that records no cause: the client span's own error, and its peer.
    plain = [s for s in spans if s.span_id != "w"] + [
        span("w", "r", "web", "POST /api/chat/service", KIND_SERVER, 0.1, 0.9, status=502)
    ]
    trace = Trace(plain, now=2.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web 502 ← web → chat: ConnectError: All connection attempts failed "
        "(http://chat:9/api/chat)"
    )


@pytest.mark.parametrize(
    ("event", "said"),
    [
        ({"exception.message": "[Errno 111] Connection refused"}, "connection refused"),
        (
            {
                "exception.type": "x.ConnectError",
                "exception.stacktrace": "Traceback:\nsocket.gaierror: [Errno -2] Name or "
                "service not known\n\nThe above...\nhttpx.ConnectError: boom",
            },
            "host not found",
        ),
        ({"exception.type": "ValueError"}, "ValueError"),
        ({}, "error"),
    ],
)
def test_the_error_of_a_call_without_an_answer(event: dict[str, str], said: str) -> None:
    spans = [
        request(502),
        span("w", "r", "web", "POST /x", KIND_SERVER, 0.1, 0.9, status=502),
        span(
            "wc",
            "w",
            "web",
            "POST",
            KIND_CLIENT,
            0.2,
            0.3,
            code=STATUS_ERROR,
            events=(Event("exception", 0.3, event),),
            server__address="10.0.0.9",
        ),
    ]
    trace = Trace(spans, now=2.0)
    assert (
        blame(trace, trace.requests()[0]) == f"blame: web 502 ← web → 10.0.0.9: {said} (10.0.0.9)"
    )


def test_no_blame_when_no_service_span_failed_or_none_came_back() -> None:
    ok = Trace(web_to_chat(200), now=2.0)
    assert blame(ok, ok.requests()[0]) is None
    alone = Trace([request(503)], now=2.0)
    assert blame(alone, alone.requests()[0]) is None
    assert not alone.reached_services(alone.requests()[0])


def test_the_request_to_explain_is_the_last_that_failed_or_got_no_answer() -> None:
    polls = [
        span("p1", "s", "smoke", "GET /h", KIND_CLIENT, 0.0, 0.1, status=503),
        span("p2", "s", "smoke", "GET /h", KIND_CLIENT, 0.2, 0.3, status=503),
        span("p3", "s", "smoke", "GET /h", KIND_CLIENT, 0.4, 0.5, status=200),
    ]
    assert Trace(polls, now=1).failing_request() == polls[1]
    assert Trace(polls[2:], now=1).failing_request() == polls[2]  # none failed: the last
    unanswered = span("p4", "s", "smoke", "GET /h", KIND_CLIENT, 0.6, 0.7, code=STATUS_ERROR)
    assert Trace([*polls, unanswered], now=1).failing_request() == unanswered
    four_oh_four = span("p5", "s", "smoke", "GET /h", KIND_CLIENT, 0.8, 0.9, status=404)
    assert Trace([*polls, four_oh_four], now=1).failing_request() == four_oh_four
    assert Trace([], now=1).failing_request() is None


def test_the_tree_shows_service_operation_status_duration_and_why() -> None:
    spans = [
        *web_to_chat(
            503,
            code=STATUS_ERROR,
            message="db unavailable: x",
            db__state__reason="x",
            db__state__unavailable_seconds=1.0,
        ),
        span(
            "q",
            "c",
            "chat",
            "SELECT",
            KIND_CLIENT,
            0.4,
            0.402,
            db__statement="SELECT  sku,\n name FROM products",
        ),
    ]
    trace = Trace(spans, now=2.0)
    assert tree_lines(trace, trace.requests()[0]) == [
        "smoke POST /api/chat/service  503  1000 ms",
        "  web POST /api/chat/service  503  800 ms",
        "    web POST  503  600 ms",
        "      chat POST /api/chat  503  400 ms  db unavailable: x",
        "        chat SELECT  2 ms  SELECT sku, name FROM products",
    ]
    no_answer = Trace([request(None, end=None)], now=2.5)
    assert tree_lines(no_answer, no_answer.requests()[0]) == [
        "smoke POST /api/chat/service  2500 ms (no answer)"
    ]
    quiet = Trace(web_to_chat(503, db__state__reason="x"), now=2.0)
    assert tree_lines(quiet, quiet.requests()[0])[3].endswith("400 ms  db: unavailable (x)")


def test_a_long_tree_is_cut() -> None:
    many = [request()] + [
        span(f"s{i}", "r", "web", "GET", KIND_CLIENT, 0.1, 0.2) for i in range(50)
    ]
    trace = Trace(many, now=1)
    assert len(tree_lines(trace, trace.requests()[0])) == 30


def test_slowest_follows_the_longest_child_down_to_the_deepest_span() -> None:
    spans = [
        *web_to_chat(200),
        span("rt", "c", "chat", "retrieval", KIND_INTERNAL, 0.31, 0.65),
        span("q", "c", "chat", "SELECT", KIND_CLIENT, 0.3, 0.31),
    ]
    trace = Trace(spans, now=2.0)
    assert slowest(trace, trace.requests()[0], "web -> chat proxy call") == (
        "slowest: chat retrieval 0.34 s of the 1.00 s POST /api/chat/service "
        "(web -> chat proxy call)"
    )
    alone = Trace([request(None, end=None)], now=3.0)
    assert slowest(alone, alone.requests()[0], "step") == (
        "slowest: POST /api/chat/service (step) 3.00 s, no service's span under it"
    )


def test_the_requests_own_log_lines_by_trace_and_span_id() -> None:
    spans = web_to_chat()
    other_poll = span("p9", "step", "smoke", "GET", KIND_CLIENT, 0.0, 0.1)
    trace = Trace([*spans, other_poll], now=2.0)
    logs = "\n".join(
        [
            f"chat-1  | t ERROR boom trace_id={T} span_id=c",
            f"chat-1  | t INFO another request trace_id={T} span_id=p9",
            "chat-1  | t INFO unrelated line",
            f'chat-1  | t {{"resourceSpans":[]}} trace_id={T} span_id=c',
            f"web-1   | t INFO POST 500 trace_id={T} span_id=w",
            f"web-1   | t INFO POST 500 trace_id={'b' * 32} span_id=w",
        ]
    )
    assert request_log_lines(logs, trace, trace.requests()[0]) == [
        f"chat-1  | t ERROR boom trace_id={T} span_id=c",
        f"web-1   | t INFO POST 500 trace_id={T} span_id=w",
    ]


def test_a_parent_that_never_came_makes_a_root() -> None:
    orphan = span("o", "missing", "chat", "GET", KIND_SERVER, 0.0, 0.1)
    trace = Trace([orphan], now=1)
    assert trace.roots() == [orphan]
    assert trace.children(orphan) == []


def test_a_request_straight_to_chat_is_one_hop_with_its_reason() -> None:
    raised = Event(
        "exception",
        0.5,
        {"exception.type": "contoso.errors.CatalogError", "exception.message": "index corrupt"},
    )
    direct = [
        span("r", "step", "smoke", "GET /health/dependencies", KIND_CLIENT, 0.0, 1.0, status=500),
        span(
            "c",
            "r",
            "chat",
            "GET /health/dependencies",
            KIND_SERVER,
            0.1,
            0.9,
            status=500,
            code=STATUS_ERROR,
            events=(raised,),
        ),
    ]
    trace = Trace(direct, now=2.0)
    assert blame(trace, trace.requests()[0]) == "blame: chat 500: CatalogError: index corrupt"
    inner = [
        *direct[:1],
        span("c", "r", "chat", "GET /x", KIND_SERVER, 0.1, 0.9, status=500),
        span(
            "rt",
            "c",
            "chat",
            "retrieval",
            KIND_INTERNAL,
            0.2,
            0.3,
            code=STATUS_ERROR,
            message="model missing",
        ),
    ]
    trace = Trace(inner, now=2.0)
    assert blame(trace, trace.requests()[0]) == "blame: chat 500: retrieval: model missing"


def test_of_several_failed_children_the_last_started_is_followed() -> None:
    spans = [
        *web_to_chat(503)[:3],
        span(
            "old",
            "w",
            "web",
            "GET",
            KIND_CLIENT,
            0.15,
            0.16,
            code=STATUS_ERROR,
            message="first try",
            server__address="cache",
        ),
        span(
            "wc",
            "w",
            "web",
            "POST",
            KIND_CLIENT,
            0.2,
            0.8,
            code=STATUS_ERROR,
            message="second try",
            server__address="chat",
        ),
    ]
    trace = Trace(spans, now=2.0)
    assert blame(trace, trace.requests()[0]) == "blame: web 503 ← web → chat: second try (chat)"


def test_a_call_answered_by_a_service_that_sends_no_spans() -> None:
    """chat is not instrumented: web's call carries what it got back."""
    spans = [
        request(503),
        span("w", "r", "web", "POST /api/chat/service", KIND_SERVER, 0.1, 0.9, status=503),
        span(
            "wc",
            "w",
            "web",
            "POST",
            KIND_CLIENT,
            0.2,
            0.8,
            status=503,
            http__url="http://chat:8000/api/chat",
            net__peer__name="chat",
        ),
    ]
    trace = Trace(spans, now=2.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web 503 ← web → chat: HTTP 503 (http://chat:8000/api/chat)"
    )
    unnamed = [*spans[:2], span("wc", "w", "web", "POST", KIND_CLIENT, 0.2, 0.8, code=STATUS_ERROR)]
    trace = Trace(unnamed, now=2.0)
    assert blame(trace, trace.requests()[0]) == "blame: web 503 ← web → ?: error (?)"
    by_host = [
        *spans[:2],
        span(
            "wc", "w", "web", "POST", KIND_CLIENT, 0.2, 0.8, status=502, server__address="10.1.2.3"
        ),
    ]
    trace = Trace(by_host, now=2.0)
    assert (
        blame(trace, trace.requests()[0]) == "blame: web 503 ← web → 10.1.2.3: HTTP 502 (10.1.2.3)"
    )


def test_a_server_span_without_a_status_is_named_by_its_service() -> None:
    spans = [
        request(None, end=None),
        span("w", "r", "web", "POST /api/chat/service", KIND_SERVER, 0.1, 0.9, code=STATUS_ERROR),
    ]
    trace = Trace(spans, now=2.0)
    assert blame(trace, trace.requests()[0]) == "blame: web"


def test_no_blame_when_only_the_smokes_own_span_failed() -> None:
    """The request timed out on the smoke's side; web answered fine, later."""
    spans = [
        request(None, end=None),
        span("w", "r", "web", "POST /x", KIND_SERVER, 0.1, 5.0, status=200),
    ]
    trace = Trace(spans, now=2.0)
    assert blame(trace, trace.requests()[0]) is None
    odd = [
        request(500),
        span("i", "r", "web", "handler", KIND_INTERNAL, 0.1, 0.2, code=STATUS_ERROR),
    ]
    trace = Trace(odd, now=2.0)
    assert blame(trace, trace.requests()[0]) is None  # no server span: no hop to name


def test_a_400_is_a_request_to_explain() -> None:
    polls = [
        span("p1", "s", "smoke", "GET /h", KIND_CLIENT, 0.0, 0.1, status=400),
        span("p2", "s", "smoke", "GET /h", KIND_CLIENT, 0.2, 0.3, status=200),
    ]
    assert Trace(polls, now=1).failing_request() == polls[0]


@pytest.mark.parametrize(
    ("web_status", "raised", "said"),
    [
        (500, "httpx.DecodingError", "DecodingError: Error -3 while decompressing data"),
        (502, "httpx.RemoteProtocolError", "RemoteProtocolError: peer closed connection"),
        (500, "json.decoder.JSONDecodeError", "JSONDecodeError: Expecting value"),
    ],
    ids=["wrong-encoding", "truncated", "invalid-json"],
)
def test_an_answer_web_could_not_read_is_blamed_on_the_service_that_wrote_it(
    web_status: int, raised: str, said: str
) -> None:
    """web's call to chat and chat's own span say 200; web failed reading the body."""
    spans = web_to_chat(200)
    message = said.split(": ", 1)[1]
    failed = Event("exception", 0.85, {"exception.type": raised, "exception.message": message})
    spans[1] = request(web_status)
    spans[2] = span(
        "w",
        "r",
        "web",
        "POST /api/chat/service",
        KIND_SERVER,
        0.1,
        0.9,
        status=web_status,
        code=STATUS_ERROR,
        events=(failed,),
    )
    trace = Trace(spans, now=2.0)
    assert blame(trace, trace.failing_request() or request()) == (
        f"blame: web {web_status} ← chat 200: its answer was malformed "
        f"(web could not read it: {said})"
    )


def test_web_failing_for_a_reason_of_its_own_after_a_good_answer_stays_webs() -> None:
    spans = web_to_chat(200)
    bug = Event("exception", 0.85, {"exception.type": "KeyError", "exception.message": "'x'"})
    spans[1] = request(500)
    spans[2] = span(
        "w",
        "r",
        "web",
        "POST /api/chat/service",
        KIND_SERVER,
        0.1,
        0.9,
        status=500,
        code=STATUS_ERROR,
        events=(bug,),
    )
    trace = Trace(spans, now=2.0)
    assert blame(trace, trace.failing_request() or request()) == "blame: web 500: KeyError: 'x'"


def timed_out(until: float = 3.0) -> Span:
    return span(
        "r",
        "step",
        "smoke",
        "POST /api/chat/service",
        KIND_CLIENT,
        0.0,
        until,
        code=STATUS_ERROR,
        message="no answer: ReadTimeout: timed out",
    )


def test_a_request_without_an_answer_is_blamed_on_the_deepest_span_still_open() -> None:
    """chat still working when the smoke gave up: web's span and web's call are open
    too, but chat is where the time goes."""
    spans = [
        timed_out(3.0),
        span("w", "r", "web", "POST /api/chat/service", KIND_SERVER, 0.1, None),
        span("wc", "w", "web", "POST", KIND_CLIENT, 0.2, None, server__address="chat"),
        span("c", "wc", "chat", "POST /api/chat", KIND_SERVER, 0.5, None),
    ]
    trace = Trace(spans, now=9.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web ← chat: no answer after 2.5 s (its span POST /api/chat never ended, "
        "no span under it came back)"
    )


def test_a_database_call_that_never_came_back_is_blamed_through_every_hop() -> None:
    spans = [
        timed_out(3.0),
        span("w", "r", "web", "POST /api/chat/service", KIND_SERVER, 0.1, None),
        span("wc", "w", "web", "POST", KIND_CLIENT, 0.2, None, server__address="chat"),
        span("c", "wc", "chat", "POST /api/chat", KIND_SERVER, 0.5, None),
        span("q", "c", "chat", "SELECT", KIND_CLIENT, 0.6, None, server__address="db"),
    ]
    trace = Trace(spans, now=9.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web ← chat → db: no answer after 2.4 s (its call SELECT db never came back)"
    )
    # An older instrumentation names the peer by the old convention's attribute.
    spans[-1] = span("q", "c", "chat", "SELECT", KIND_CLIENT, 0.6, None, net__peer__name="db")
    trace = Trace(spans, now=9.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web ← chat → db: no answer after 2.4 s (its call SELECT db never came back)"
    )


def test_a_web_that_never_calls_chat_is_blamed_on_web_with_what_ran_under_it() -> None:
    spans = [
        timed_out(5.0),
        span("w", "r", "web", "POST /api/chat/service", KIND_SERVER, 0.2, None),
    ]
    trace = Trace(spans, now=9.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web: no answer after 4.8 s (its span POST /api/chat/service never ended, "
        "no span under it came back)"
    )
    # Work under it that finished is not the holder: web's own span is.
    spans.append(span("q", "w", "web", "lookup", KIND_INTERNAL, 0.3, 0.4))
    trace = Trace(spans, now=9.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web: no answer after 4.8 s (its span POST /api/chat/service never ended)"
    )


def test_of_open_spans_at_one_depth_the_longest_open_is_named() -> None:
    spans = [
        timed_out(3.0),
        span("w", "r", "web", "POST /api/chat/service", KIND_SERVER, 0.1, None),
        span("late", "w", "web", "late", KIND_INTERNAL, 2.0, None),
        span("early", "w", "web", "early", KIND_INTERNAL, 0.5, None),
    ]
    trace = Trace(spans, now=9.0)
    said = blame(trace, trace.requests()[0])
    assert said is not None
    assert "its span early never ended" in said
    assert "2.5 s" in said


def test_an_answered_request_with_an_open_span_is_not_blamed_on_it() -> None:
    spans = [request(200), span("w", "r", "web", "POST /x", KIND_SERVER, 0.1, None)]
    trace = Trace(spans, now=2.0)
    assert blame(trace, trace.requests()[0]) is None


def test_without_start_records_the_service_whose_spans_hang_under_a_missing_one() -> None:
    """A team's web sends a span only when it ends: its call to chat came back, its
    own span did not (still open)."""
    spans = [
        timed_out(5.0),
        span(
            "wc",
            "w-missing",
            "web",
            "POST",
            KIND_CLIENT,
            0.2,
            0.3,
            status=200,
            server__address="chat",
        ),
        span("c", "wc", "chat", "POST /api/chat", KIND_SERVER, 0.21, 0.29, status=200),
    ]
    trace = Trace(spans, now=9.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web: took the request and gave no answer in 5.0 s (its span for it never "
        "came back; under it: POST to chat 200)"
    )
    only_chat = [
        spans[0],
        span("c", "wc-missing", "chat", "POST /api/chat", KIND_SERVER, 0.21, 0.29, status=200),
    ]
    trace = Trace(only_chat, now=9.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: chat's caller: no answer in 5.0 s, though chat answered 200 (the caller's "
        "span never came back)"
    )
    earlier = [spans[0], span("x", "gone", "web", "GET", KIND_CLIENT, -2.0, -1.0)]
    trace = Trace(earlier, now=9.0)
    assert blame(trace, trace.requests()[0]) is None  # not this request's


def later(spans: list[Span], by: float) -> list[Span]:
    """The same trace, ``by`` seconds later: what a real clock's times look like."""
    return [
        replace(s, start=s.start + by, end=None if s.end is None else s.end + by) for s in spans
    ]


def test_a_hold_is_measured_from_the_requests_own_start_and_a_missing_status_is_not_said() -> None:
    spans = later(
        [
            timed_out(5.0),
            span("wc", "w-missing", "web", "POST", KIND_CLIENT, 0.2, 0.3, server__address="chat"),
        ],
        by=1_000.0,
    )
    trace = Trace(spans, now=1_009.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web: took the request and gave no answer in 5.0 s (its span for it never "
        "came back; under it: POST to chat)"
    )


def test_a_call_that_never_came_back_is_blamed_on_the_caller_and_whom_it_called() -> None:
    """chat sends no start record (a team's chat): web's open call is the deepest."""
    spans = [
        timed_out(4.0),
        span("w", "r", "web", "POST /api/chat/service", KIND_SERVER, 0.1, None),
        span(
            "wc",
            "w",
            "web",
            "POST",
            KIND_CLIENT,
            0.5,
            None,
            server__address="chat",
            url__full="http://chat:8000/api/chat",
        ),
    ]
    trace = Trace(spans, now=9.0)
    assert blame(trace, trace.requests()[0]) == (
        "blame: web → chat: no answer after 3.5 s (its call POST http://chat:8000/api/chat "
        "never came back)"
    )


def test_a_background_request_still_in_flight_is_not_the_one_explained() -> None:
    """The contract fetch, carried beside the dependency step, may still be waiting
    for its answer when that step fails: the step's own failed request is explained."""
    own = span(
        "own", "step", "smoke", "GET /health/dependencies", KIND_CLIENT, 0.0, 0.1, status=503
    )
    chat = span(
        "c",
        "own",
        "chat",
        "GET /health/dependencies",
        KIND_SERVER,
        0.01,
        0.09,
        status=503,
        db__state__reason="db host not found",
    )
    fetch = span(
        "bg", "step", "smoke", "GET /openapi.json", KIND_CLIENT, 0.05, None, smoke__background=True
    )
    trace = Trace([own, chat, fetch], now=2.0)
    assert trace.failing_request() == own
    assert blame(trace, own) == "blame: chat 503 ← db: unavailable (db host not found)"
    alone = Trace([fetch], now=2.0)
    assert alone.failing_request() == fetch  # nothing else to explain: it is the one


@pytest.mark.parametrize(
    ("call_status", "chat_status", "malformed"),
    [
        (399, 399, True),  # both said success: the answer broke
        (200, None, True),  # chat's span without a status: read as success
        (400, 200, False),  # web's call failed: its own status says so
        (200, 400, False),  # chat said it failed
        (None, 200, False),  # web's call has no status: nothing to go on
    ],
)
def test_an_answer_is_called_malformed_only_when_both_sides_said_success(
    call_status: int | None, chat_status: int | None, malformed: bool
) -> None:
    failed = Event(
        "exception", 0.85, {"exception.type": "json.JSONDecodeError", "exception.message": "x"}
    )
    spans = web_to_chat(200)
    spans[1] = request(500)
    spans[2] = span(
        "w",
        "r",
        "web",
        "POST /api/chat/service",
        KIND_SERVER,
        0.1,
        0.9,
        status=500,
        code=STATUS_ERROR,
        events=(failed,),
    )
    spans[3] = replace(
        spans[3],
        attributes={
            **{k: v for k, v in spans[3].attributes.items() if k != "http.response.status_code"},
            **({"http.response.status_code": call_status} if call_status else {}),
        },
    )
    spans[4] = span(
        "c",
        "wc",
        "chat",
        "POST /api/chat",
        KIND_SERVER,
        0.3,
        0.7,
        **({"status": chat_status} if chat_status else {}),
    )
    trace = Trace(spans, now=2.0)
    said = blame(trace, trace.failing_request() or request()) or ""
    assert ("its answer was malformed" in said) is malformed, said
