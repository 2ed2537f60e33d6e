"""The OTLP/HTTP receiver, for real on loopback: what it keeps, what it refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from smoke.clock import FakeClock
from smoke.trace.receiver import Receiver
from smoke.trace.spans import Span

MINE, OTHER = "a" * 32, "b" * 32


def body(*trace_ids: str) -> dict[str, Any]:
    spans = [
        {"traceId": t, "spanId": f"{i:016x}", "name": "GET", "startTimeUnixNano": "1000"}
        for i, t in enumerate(trace_ids)
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "chat"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(
        "127.0.0.1", 0, lambda trace_id: trace_id == MINE, max_body_bytes=2000, max_spans=3
    )
    yield started
    started.close()


def url(receiver: Receiver, path: str = "/v1/traces") -> str:
    host, port = receiver.address
    return f"http://{host}:{port}{path}"


def test_it_keeps_only_the_spans_of_this_runs_traces(receiver: Receiver) -> None:
    answer = httpx.post(url(receiver), json=body(MINE, OTHER, MINE))
    assert answer.status_code == 200
    assert answer.json() == {}
    assert [s.trace_id for s in receiver.spans()] == [MINE, MINE]
    assert {s.service for s in receiver.spans()} == {"chat"}


def test_it_bounds_how_many_spans_it_keeps(receiver: Receiver) -> None:
    for _ in range(3):
        httpx.post(url(receiver), json=body(MINE, MINE))
    assert len(receiver.spans()) == 3


@pytest.mark.parametrize(
    ("path", "headers", "content", "status"),
    [
        ("/v1/logs", {"Content-Type": "application/json"}, b"{}", 404),
        ("/v1/traces", {"Content-Type": "application/x-protobuf"}, b"\x0a", 415),
        ("/v1/traces", {"Content-Type": "application/json"}, b"x" * 2001, 413),
        ("/v1/traces", {"Content-Type": "application/json"}, b"not json", 400),
        ("/v1/traces", {"Content-Type": "application/json"}, b"", 400),  # empty: not JSON
    ],
)
def test_what_it_does_not_take_is_refused_and_kept_out(
    receiver: Receiver, path: str, headers: dict[str, str], content: bytes, status: int
) -> None:
    answer = httpx.post(url(receiver, path), content=content, headers=headers)
    assert answer.status_code == status
    assert receiver.spans() == []


def test_a_query_string_and_a_body_of_exactly_the_limit_are_taken(receiver: Receiver) -> None:
    headers = {"Content-Type": "application/json"}
    exact = json.dumps(body(MINE)).encode().ljust(2000)  # JSON may end in white space
    answer = httpx.post(url(receiver, "/v1/traces?via=proxy"), content=exact, headers=headers)
    assert answer.status_code == 200
    assert [s.trace_id for s in receiver.spans()] == [MINE]


def test_every_answer_is_json_of_its_stated_length(receiver: Receiver) -> None:
    """What an OTLP/HTTP exporter reads back: a JSON body, for a JSON request."""
    for path in ("/v1/traces", "/v1/logs"):
        answer = httpx.post(url(receiver, path), json=body(MINE))
        assert answer.headers["content-type"].lower() == "application/json"
        assert answer.headers["content-length"] == str(len(answer.content)) == "2"


def test_a_body_without_a_length_is_refused(receiver: Receiver) -> None:
    def chunks() -> Iterator[bytes]:
        yield json.dumps(body(MINE)).encode()

    answer = httpx.post(
        url(receiver), content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 411
    assert receiver.spans() == []


def test_settle_waits_for_quiet_and_no_longer_than_its_limit(
    receiver: Receiver, fake_clock: FakeClock
) -> None:
    started = fake_clock.monotonic()
    receiver.settle(quiet=0.05, limit=1)  # nothing came: quiet already
    assert fake_clock.monotonic() == started
    httpx.post(url(receiver), json=body(MINE))
    started = fake_clock.monotonic()
    receiver.settle(quiet=0.3, limit=2)
    assert fake_clock.monotonic() - started == pytest.approx(0.3, abs=0.01)  # quiet that long
    httpx.post(url(receiver), json=body(MINE))
    started = fake_clock.monotonic()
    receiver.settle(quiet=5, limit=0.2)
    assert fake_clock.monotonic() - started == pytest.approx(0.2)  # no longer than its limit


def test_settle_waits_for_what_it_awaits_then_for_quiet(
    receiver: Receiver, fake_clock: FakeClock
) -> None:
    looked: list[int] = []

    def third_look(spans: list[Span]) -> bool:  # what it awaits has come at the third look
        looked.append(len(spans))
        return len(looked) >= 3

    started = fake_clock.monotonic()
    receiver.settle(third_look, quiet=0.05, limit=1)
    assert len(looked) == 3
    assert 0.03 < fake_clock.monotonic() - started < 0.2  # looked again every few 10 ms
    started = fake_clock.monotonic()
    receiver.settle(lambda spans: False, quiet=0.05, limit=1)
    assert fake_clock.monotonic() - started == pytest.approx(1)  # never came: its limit


def test_it_stops_listening_when_closed() -> None:
    receiver = Receiver("127.0.0.1", 0, lambda trace_id: True)
    where = url(receiver)
    receiver.close()
    with pytest.raises(httpx.ConnectError):
        httpx.post(where, json=body(MINE), timeout=1)
