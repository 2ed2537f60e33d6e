"""Each service's clock from its spans, and its spans moved onto the smoke's clock."""

from __future__ import annotations

import pytest

from smoke.trace.clocks import corrected, offsets, said
from smoke.trace.spans import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, Event, Span

T = "a" * 32


def call(
    caller: str, callee: str, start: float, end: float, *, ahead: float = 0.0, n: int = 0
) -> list[Span]:
    """A client span of ``caller`` and the server span of ``callee`` inside it, the
    callee's clock ``ahead`` of the true time by that much."""
    inner_start, inner_end = start + 0.01 + ahead, end - 0.01 + ahead
    return [
        Span(T, f"c{caller}{n}", "root", caller, "GET /x", KIND_CLIENT, start, end),
        Span(
            T,
            f"s{callee}{n}",
            f"c{caller}{n}",
            callee,
            "GET /x",
            KIND_SERVER,
            inner_start,
            inner_end,
        ),
    ]


def test_right_clocks_with_ordinary_latency_need_no_correction() -> None:
    spans = [*call("smoke", "chat", 10.0, 10.2), *call("smoke", "web", 11.0, 11.3, n=1)]
    assert offsets(spans) == {}
    assert corrected(spans, offsets(spans)) == spans


def test_a_clock_an_hour_ahead_is_found_from_the_smokes_own_calls() -> None:
    spans = [call("smoke", "chat", 10.0 + i, 10.1 + i, ahead=3600.0, n=i) for i in range(5)]
    found = offsets([span for pair in spans for span in pair])
    assert found["chat"] == pytest.approx(3600.0, abs=0.1)
    assert said(found) == [
        "chat's clock is 3600.0 s ahead; its spans are shifted onto the smoke's clock"
    ]


def test_a_service_the_smoke_does_not_call_is_bounded_through_its_caller() -> None:
    # smoke -> web (a right clock) -> chat (five minutes behind)
    web_client = Span(T, "wc", "sw", "web", "POST /api/chat", KIND_CLIENT, 20.02, 20.08)
    spans = [
        *call("smoke", "web", 20.0, 20.1),
        web_client,
        Span(T, "cs", "wc", "chat", "POST /api/chat", KIND_SERVER, 20.03 - 300, 20.07 - 300),
    ]
    spans[1] = Span(T, "sw", "csmoke0", "web", "POST /api/chat/service", KIND_SERVER, 20.01, 20.09)
    found = offsets(spans)
    assert set(found) == {"chat"}
    assert found["chat"] == pytest.approx(-300.0, abs=0.05)
    assert said(found) == [
        "chat's clock is 300.0 s behind; its spans are shifted onto the smoke's clock"
    ]
    on_our_clock = {s.span_id: s for s in corrected(spans, found)}
    chat = on_our_clock["cs"]
    # Inside its caller (to float precision).
    assert web_client.start - 1e-9 <= chat.start <= chat.end <= web_client.end + 1e-9


def test_a_small_offset_is_corrected_but_not_said() -> None:
    spans = call("smoke", "chat", 10.0, 10.1, ahead=0.5)
    found = offsets(spans)
    assert 0.4 <= found["chat"] <= 0.5
    assert said(found) == []


def test_corrected_spans_keep_their_durations_events_and_open_ends() -> None:
    span = Span(
        T,
        "s",
        None,
        "chat",
        "retrieval",
        KIND_INTERNAL,
        3610.0,
        None,
        events=(Event("exception", 3610.5, {"exception.type": "ValueError"}),),
    )
    other = Span(T, "o", None, "web", "x", KIND_INTERNAL, 5.0, 6.0)
    moved, kept = corrected([span, other], {"chat": 3600.0})
    assert (moved.start, moved.end, moved.events[0].at) == (10.0, None, 10.5)
    assert moved.events[0].attributes == {"exception.type": "ValueError"}
    assert moved.events[0].name == "exception"
    assert kept == other


def test_contradicting_bounds_take_their_middle() -> None:
    # The clock jumped between two calls: no one offset fits both.
    spans = [
        *call("smoke", "chat", 10.0, 10.1, ahead=5.0),
        *call("smoke", "chat", 20.0, 20.1, ahead=9.0, n=1),
    ]
    found = offsets(spans)
    assert 5.0 < found["chat"] < 9.0


def test_the_bounds_a_callers_span_puts_on_its_callees_clock() -> None:
    """chat's span must start after web (1 s ahead) sent the call and end before its
    answer came: its offset lies between the two."""
    from smoke.trace.clocks import _bounds

    caller = Span(T, "c", None, "web", "POST /api/chat", KIND_CLIENT, 10.0, 15.0)
    inside = Span(T, "s", "c", "chat", "POST /api/chat", KIND_SERVER, 12.0, 13.0)
    assert _bounds(inside, caller, 1.0) == (-1.0, 3.0)
    still_open = Span(T, "s", "c", "chat", "POST /api/chat", KIND_SERVER, 12.0, None)
    assert _bounds(still_open, caller, 1.0) == (float("-inf"), 3.0)
    no_answer = Span(T, "c", None, "web", "POST /api/chat", KIND_CLIENT, 10.0, None)
    assert _bounds(inside, no_answer, 1.0) == (float("-inf"), 3.0)


@pytest.mark.parametrize(
    ("low", "high", "offset"),
    [
        (-1.0, 3.0, 0.0),
        (0.0, 5.0, 0.0),
        (-5.0, 0.0, 0.0),
        (2.0, 5.0, 2.0),
        (-5.0, -2.0, -2.0),
        (4.0, 2.0, 3.0),
    ],
)
def test_the_offset_nearest_to_none_the_bounds_allow(
    low: float, high: float, offset: float
) -> None:
    from smoke.trace.clocks import _smallest

    assert _smallest(low, high) == offset
