"""Spans as the smoke reads them: from OTLP/JSON (the receiver's bodies, the span
lines in the services' logs) and back to OTLP/JSON (``e2e-trace.json``).

Tolerant by design: a span that cannot be read is skipped, never an error; what a
service sends is untrusted text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2
#: The service name of the smoke's own spans: each step's, and each request's.
SMOKE_SERVICE = "smoke"
#: How the span lines in a service's log begin (contoso_telemetry's log export).
LOG_LINE_MARK = '{"resourceSpans":'


@dataclass(frozen=True)
class Event:
    name: str
    at: float
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    name: str
    kind: int
    start: float  # epoch seconds
    end: float | None  # None: still open (the smoke's own request without an answer)
    status: int = STATUS_UNSET
    message: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[Event, ...] = ()

    def duration(self, now: float) -> float:
        """Seconds, counting an open span up to ``now``."""
        return max(0.0, (self.end if self.end is not None else now) - self.start)

    def attr(self, *names: str) -> Any:
        """The first of ``names`` the span carries (stable names first, then old ones)."""
        for name in names:
            if name in self.attributes:
                return self.attributes[name]
        return None

    @property
    def http_status(self) -> int | None:
        value = self.attr("http.response.status_code", "http.status_code")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def exception(self) -> Event | None:
        found = [e for e in self.events if e.name == "exception"]
        return found[-1] if found else None

    @property
    def failed(self) -> bool:
        status = self.http_status
        return self.status == STATUS_ERROR or (status is not None and status >= 500)


def _value(raw: Any) -> Any:
    if not isinstance(raw, dict) or not raw:
        return None
    kind, value = next(iter(raw.items()))
    if kind == "intValue":
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if kind == "arrayValue" and isinstance(value, dict):
        return [_value(v) for v in value.get("values", [])]
    return value if isinstance(value, str | int | float | bool) else None


def _attributes(raw: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            found[item["key"]] = _value(item.get("value"))
    return found


def _seconds(raw: Any) -> float | None:
    try:
        nanos = int(raw)
    except (TypeError, ValueError):
        return None
    return nanos / 1e9 if nanos > 0 else None


_NAMED = {
    "SPAN_KIND_INTERNAL": KIND_INTERNAL,
    "SPAN_KIND_SERVER": KIND_SERVER,
    "SPAN_KIND_CLIENT": KIND_CLIENT,
    "STATUS_CODE_UNSET": STATUS_UNSET,
    "STATUS_CODE_OK": STATUS_OK,
    "STATUS_CODE_ERROR": STATUS_ERROR,
}


def _int(raw: Any, default: int) -> int:
    """An enum as a number, or by its OTLP name; anything else is ``default``."""
    if isinstance(raw, str) and raw in _NAMED:
        return _NAMED[raw]
    try:
        return int(raw)
    except (TypeError, ValueError):
        return default


def _span(raw: Any, service: str) -> Span | None:
    if not isinstance(raw, dict):
        return None
    trace_id, span_id = raw.get("traceId"), raw.get("spanId")
    start = _seconds(raw.get("startTimeUnixNano"))
    if not isinstance(trace_id, str) or not isinstance(span_id, str) or start is None:
        return None
    status: dict[str, Any] = raw["status"] if isinstance(raw.get("status"), dict) else {}
    events = tuple(
        Event(
            str(e.get("name", "")),
            _seconds(e.get("timeUnixNano")) or start,
            _attributes(e.get("attributes")),
        )
        for e in raw.get("events", [])
        if isinstance(e, dict)
    )
    parent = raw.get("parentSpanId")
    return Span(
        trace_id=trace_id.lower(),
        span_id=span_id.lower(),
        parent_id=parent.lower() if isinstance(parent, str) and parent else None,
        service=service,
        name=str(raw.get("name", "")),
        kind=_int(raw.get("kind"), KIND_INTERNAL),
        start=start,
        end=_seconds(raw.get("endTimeUnixNano")),
        status=_int(status.get("code"), STATUS_UNSET),
        message=str(status.get("message", "")),
        attributes=_attributes(raw.get("attributes")),
        events=events,
    )


def from_otlp(payload: Any) -> list[Span]:
    """The spans of an OTLP/JSON ExportTraceServiceRequest; unreadable ones skipped."""
    spans: list[Span] = []
    resources = payload.get("resourceSpans") if isinstance(payload, dict) else None
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, dict):
            continue
        about = resource.get("resource")
        service = _attributes(about.get("attributes") if isinstance(about, dict) else None)
        name = str(service.get("service.name") or "unknown")
        for scope in resource.get("scopeSpans") or []:
            for raw in scope.get("spans") or [] if isinstance(scope, dict) else []:
                span = _span(raw, name)
                if span is not None:
                    spans.append(span)
    return spans


def from_logs(text: str) -> list[Span]:
    """The span lines in `compose logs` output (``service-1  | <ts> {"resourceSpans":...}``)."""
    spans: list[Span] = []
    for line in text.splitlines():
        at = line.find(LOG_LINE_MARK)
        if at < 0:
            continue
        try:
            spans.extend(from_otlp(json.loads(line[at:])))
        except ValueError:
            continue
    return spans


def latest(spans: Iterable[Span]) -> list[Span]:
    """One record per span, in first-seen order: the finished span over its start
    record (a service sends a server span once as it starts, with no end)."""
    found: dict[tuple[str, str], Span] = {}
    for span in spans:
        key = (span.trace_id, span.span_id)
        if key not in found or found[key].end is None:
            found[key] = span
    return list(found.values())


def is_span_line(line: str) -> bool:
    return LOG_LINE_MARK in line


# -- back to OTLP/JSON ------------------------------------------------------------


def _encoded(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_encoded(v) for v in value]}}
    return {"stringValue": "" if value is None else str(value)}


def _encoded_attributes(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _encoded(v)} for k, v in attributes.items()]


def _nanos(seconds: float) -> str:
    return str(round(seconds * 1e9))


def to_otlp(spans: Iterable[Span], *, now: float) -> dict[str, Any]:
    """OTLP/JSON that Jaeger and Grafana Tempo import: one resource per service. An
    open span ends at ``now``, marked ``smoke.open``."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        attributes = dict(span.attributes)
        if span.end is None:
            attributes["smoke.open"] = True
        encoded: dict[str, Any] = {
            "traceId": span.trace_id,
            "spanId": span.span_id,
            "name": span.name,
            "kind": span.kind,
            "startTimeUnixNano": _nanos(span.start),
            "endTimeUnixNano": _nanos(span.end if span.end is not None else now),
            "attributes": _encoded_attributes(attributes),
            "status": {"code": span.status, **({"message": span.message} if span.message else {})},
        }
        if span.parent_id:
            encoded["parentSpanId"] = span.parent_id
        if span.events:
            encoded["events"] = [
                {
                    "name": e.name,
                    "timeUnixNano": _nanos(e.at),
                    "attributes": _encoded_attributes(e.attributes),
                }
                for e in span.events
            ]
        by_service.setdefault(span.service, []).append(encoded)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _encoded_attributes({"service.name": service})},
                "scopeSpans": [{"scope": {"name": "contoso-smoke"}, "spans": encoded_spans}],
            }
            for service, encoded_spans in by_service.items()
        ]
    }


def _masked_value(value: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [_masked_value(v, mask) for v in value]
    return value


def _masked_attributes(attributes: Mapping[str, Any], mask: Callable[[str], str]) -> dict[str, Any]:
    return {mask(k): _masked_value(v, mask) for k, v in attributes.items()}


def masked(span: Span, mask: Callable[[str], str]) -> Span:
    """``span`` with every text it carries masked (name, status message, attributes,
    events): the data is masked before any file encodes it."""
    return replace(
        span,
        name=mask(span.name),
        message=mask(span.message),
        attributes=_masked_attributes(span.attributes, mask),
        events=tuple(
            Event(mask(e.name), e.at, _masked_attributes(e.attributes, mask)) for e in span.events
        ),
    )
