"""Spans read from OTLP/JSON (receiver bodies, log lines) and written back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smoke.trace.spans import (
    KIND_CLIENT,
    KIND_INTERNAL,
    KIND_SERVER,
    STATUS_ERROR,
    STATUS_UNSET,
    Event,
    Span,
    from_logs,
    from_otlp,
    is_span_line,
    latest,
    to_otlp,
)

TRACE = "0af7651916cd43dd8448eb211c80319c"


def otlp(*spans: dict[str, Any], service: str = "chat") -> dict[str, Any]:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": list(spans)}]}]}


def raw(**fields: Any) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": TRACE.upper(),
        "spanId": "B7AD6B7169203331",
        "name": "GET /health",
        "kind": 2,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000250000000",
    }
    span.update(fields)
    return span


def test_a_span_is_read_with_its_service_times_status_attributes_and_events() -> None:
    (span,) = from_otlp(
        otlp(
            raw(
                parentSpanId="00F067AA0BA902B7",
                status={"code": 2, "message": "db unavailable: connection refused"},
                attributes=[
                    {"key": "http.response.status_code", "value": {"intValue": "503"}},
                    {"key": "db.state.unavailable_seconds", "value": {"doubleValue": 4.2}},
                    {"key": "ok", "value": {"boolValue": True}},
                    {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "a"}]}}},
                ],
                events=[
                    {
                        "name": "exception",
                        "timeUnixNano": "1700000000100000000",
                        "attributes": [
                            {"key": "exception.type", "value": {"stringValue": "RuntimeError"}}
                        ],
                    }
                ],
            )
        )
    )
    assert span.trace_id == TRACE  # ids lower-cased, as W3C writes them
    assert (span.span_id, span.parent_id) == ("b7ad6b7169203331", "00f067aa0ba902b7")
    assert (span.service, span.name, span.kind) == ("chat", "GET /health", KIND_SERVER)
    assert (span.start, span.end) == pytest.approx((1700000000.0, 1700000000.25), abs=1e-6)
    assert span.duration(now=0) == pytest.approx(0.25, abs=1e-6)
    assert (span.status, span.message) == (STATUS_ERROR, "db unavailable: connection refused")
    assert span.http_status == 503
    assert span.attributes == {
        "http.response.status_code": 503,
        "db.state.unavailable_seconds": 4.2,
        "ok": True,
        "list": ["a"],
    }
    assert span.exception is not None
    assert span.exception.at == pytest.approx(1700000000.1, abs=1e-6)
    assert span.exception.attributes == {"exception.type": "RuntimeError"}
    assert span.failed


@pytest.mark.parametrize(
    "broken",
    [
        None,
        [],
        {"resourceSpans": "no"},
        {"resourceSpans": [None, {"scopeSpans": "no"}, {"scopeSpans": [None, {"spans": "x"}]}]},
        otlp(raw(traceId=None)),
        otlp(raw(spanId=7)),
        otlp(raw(startTimeUnixNano="soon")),
        otlp(raw(startTimeUnixNano="0")),
        otlp("not a span"),  # type: ignore[arg-type]
    ],
)
def test_what_cannot_be_read_is_skipped_never_an_error(broken: Any) -> None:
    assert from_otlp(broken) == []


def test_enums_by_name_and_odd_values_fall_back() -> None:
    (named,) = from_otlp(otlp(raw(kind="SPAN_KIND_CLIENT", status={"code": "STATUS_CODE_ERROR"})))
    assert (named.kind, named.status) == (KIND_CLIENT, STATUS_ERROR)
    (odd,) = from_otlp(
        otlp(
            raw(
                kind="sideways",
                status="broken",
                endTimeUnixNano=None,
                attributes=[
                    {"key": "n", "value": {"intValue": "many"}},
                    {"key": "e", "value": {}},
                    {"key": "o", "value": {"kvlistValue": {"values": []}}},
                    {"nokey": 1},
                ],
                events=[None, {"name": "e"}],
            ),
            service="",
        )
    )
    assert (odd.kind, odd.status, odd.end) == (KIND_INTERNAL, STATUS_UNSET, None)
    assert odd.service == "unknown"
    assert odd.attributes == {"n": None, "e": None, "o": None}
    assert odd.events == (Event("e", odd.start, {}),)
    assert odd.duration(now=odd.start + 2) == 2  # open: counted up to now


def test_failed_is_an_error_status_or_a_5xx() -> None:
    def span(status: int, code: int | None) -> Span:
        attributes = {} if code is None else {"http.status_code": code}
        return Span(TRACE, "a", None, "web", "x", KIND_SERVER, 1.0, 2.0, status, "", attributes)

    assert span(STATUS_ERROR, None).failed
    assert span(STATUS_UNSET, 500).failed
    assert not span(STATUS_UNSET, 499).failed
    assert not span(STATUS_UNSET, None).failed
    assert span(STATUS_UNSET, 404).http_status == 404  # the old name is read too
    bad = Span(TRACE, "a", None, "web", "x", 1, 1.0, 2.0, attributes={"http.status_code": "x"})
    assert bad.http_status is None


def test_span_lines_in_compose_logs_are_found_among_the_others() -> None:
    line = json.dumps(otlp(raw(), service="web"), separators=(",", ":"))
    logs = "\n".join(
        [
            "web-1  | 2026-12-04T10:00:00.000000000Z INFO: started",
            f"web-1  | 2026-12-04T10:00:00.100000000Z {line}",
            'web-1  | 2026-12-04T10:00:00.200000000Z {"resourceSpans": broken',
        ]
    )
    (span,) = from_logs(logs)
    assert (span.service, span.name) == ("web", "GET /health")
    assert is_span_line(logs.splitlines()[1])
    assert not is_span_line(logs.splitlines()[0])


def test_written_back_as_otlp_json_that_reads_the_same() -> None:
    spans = from_otlp(
        otlp(raw(events=[{"name": "exception", "timeUnixNano": "1700000000100000000"}]))
    )
    spans += [
        Span(
            TRACE,
            "c" * 16,
            "b7ad6b7169203331",
            "smoke",
            "GET",
            KIND_CLIENT,
            1.5,
            None,
            attributes={"n": 3, "f": 0.5, "b": False, "l": [1], "none": None},
        )
    ]
    written = to_otlp(spans, now=9.0)
    assert [
        r["resource"]["attributes"][0]["value"]["stringValue"] for r in written["resourceSpans"]
    ] == ["chat", "smoke"]
    again = from_otlp(json.loads(json.dumps(written)))
    assert again[0] == spans[0]
    open_span = again[1]
    assert open_span.end == 9.0  # an open span ends at `now` ...
    assert open_span.attributes["smoke.open"] is True  # ... and says it was open
    assert open_span.attributes["none"] == ""


def test_missing_names_parents_and_values_read_as_nothing() -> None:
    (span,) = from_otlp(
        otlp(
            {
                "traceId": TRACE,
                "spanId": "b7ad6b7169203331",
                "parentSpanId": "",
                "startTimeUnixNano": "1",  # a nanosecond after the epoch: still a time
                "attributes": [{"key": "empty", "value": {"arrayValue": {}}}],
                "events": [{}],
            }
        )
    )
    assert (span.name, span.parent_id, span.start) == ("", None, 1e-9)
    assert span.attributes == {"empty": []}
    assert span.events == (Event("", 1e-9, {}),)
    (odd_parent,) = from_otlp(otlp(raw(parentSpanId=7)))
    assert odd_parent.parent_id is None


def test_a_resource_that_cannot_be_read_does_not_hide_the_next() -> None:
    good = otlp(raw())["resourceSpans"][0]
    assert len(from_otlp({"resourceSpans": [None, good]})) == 1


def test_span_lines_are_read_bare_and_after_a_broken_one() -> None:
    line = json.dumps(otlp(raw(name="first")), separators=(",", ":"))
    broken = '{"resourceSpans": not json'
    assert [s.name for s in from_logs(f"{broken}\n{line}")] == ["first"]  # no compose prefix
    quoted = otlp(
        raw(
            name="quoting",
            attributes=[{"key": "said", "value": {"stringValue": '{"resourceSpans": []}'}}],
        )
    )
    (span,) = from_logs("web-1  | t " + json.dumps(quoted))
    assert span.name == "quoting"  # the first mark on the line begins the span


def test_a_finished_span_replaces_its_start_record_whichever_came_first() -> None:
    started = from_otlp(otlp(raw(endTimeUnixNano="0")))[0]
    ended = from_otlp(otlp(raw()))[0]
    other = from_otlp(otlp(raw(spanId="00000000000000aa", endTimeUnixNano="0")))[0]
    assert started.end is None
    assert ended.end is not None
    assert latest([started, other, ended]) == [ended, other]
    assert latest([ended, started]) == [ended]
    assert latest([started]) == [started]  # still open: the start record is all there is
    again = from_otlp(otlp(raw(endTimeUnixNano="1700000000900000000")))[0]
    assert latest([ended, again]) == [ended]  # one record per span: the first finished
