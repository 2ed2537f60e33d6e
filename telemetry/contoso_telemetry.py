"""OpenTelemetry for the reference services (web and chat), at the smallest cost.

    setup(service)      the tracer provider; spans go where SMOKE_TRACE_EXPORT says
    server(app)         the ASGI app wrapped in a server span per request
    instrument_httpx    client spans for web's calls to chat (they carry the context)
    instrument_psycopg  db spans for chat's queries, once psycopg is imported
    uvicorn_logging()   uvicorn's log config with each record's trace and span ids
    record_failure      an unhandled exception on the request's span, from the error handler

Only a request that arrives with a sampled W3C ``traceparent`` (as the smoke sends)
is recorded: everything else (healthchecks, a person's browser) costs a no-op span.
Each server and client span is also sent once as it starts (a start record: end
time 0), so a request still being worked on when the smoke gives up shows who holds
it, down to a call that never came back; the finished span replaces its start
record where the smoke reads them.
Spans leave as OTLP JSON, without protobuf or an exporter package:

    SMOKE_TRACE_EXPORT=otlp   POSTed in small batches to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    SMOKE_TRACE_EXPORT=log    one JSON line per span on stdout, for whoever reads the logs
    anything else / unset     no provider at all

Copied into both images; its only dependency is the SDK.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

#: Spans reach the smoke within this long of ending; it waits no longer than that
#: for a failing request's spans.
BATCH_DELAY_MILLIS = 50
_EXPORT_TIMEOUT_SECONDS = 2.0
_KINDS = {
    trace.SpanKind.INTERNAL: 1,
    trace.SpanKind.SERVER: 2,
    trace.SpanKind.CLIENT: 3,
    trace.SpanKind.PRODUCER: 4,
    trace.SpanKind.CONSUMER: 5,
}
_STATUS = {"UNSET": 0, "OK": 1, "ERROR": 2}


def setup(service: str) -> None:
    """Install the tracer provider for ``service``, unless tracing is off."""
    logging.setLogRecordFactory(_with_trace_ids(logging.getLogRecordFactory()))
    mode = os.environ.get("SMOKE_TRACE_EXPORT", "")
    if mode not in ("otlp", "log"):
        return
    # The stable HTTP names (http.response.status_code, url.full, error.type), read
    # by the instrumentations when they are first used.
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    provider = TracerProvider(
        resource=Resource({"service.name": service}),
        sampler=ParentBased(root=ALWAYS_OFF),  # only what a caller asked to trace
    )
    processor: SpanProcessor
    if mode == "log":
        processor = SimpleSpanProcessor(LogLineExporter())
    else:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
        processor = BatchSpanProcessor(
            OtlpJsonExporter(endpoint), schedule_delay_millis=BATCH_DELAY_MILLIS
        )
    provider.add_span_processor(StartRecords(processor))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)


#: The spans sent as they start: a request taken, a call made.
_STARTED = (trace.SpanKind.SERVER, trace.SpanKind.CLIENT)


class StartRecords(SpanProcessor):
    """A server or client span's start record, sent through ``processor`` as the
    span starts: the span as it is then, with no end time."""

    def __init__(self, processor: SpanProcessor) -> None:
        self._processor = processor

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        if span.kind in _STARTED:
            self._processor.on_end(
                ReadableSpan(
                    name=span.name,
                    context=span.get_span_context(),
                    parent=span.parent,
                    resource=span.resource,
                    attributes=span.attributes,
                    kind=span.kind,
                    start_time=span.start_time,
                    instrumentation_scope=span.instrumentation_scope,
                )
            )


def _tracing() -> bool:
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def server(app: Any) -> Any:
    """``app`` with a server span per HTTP request (no spans for its send/receive);
    ``app`` itself when tracing is off."""
    if not _tracing():
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app, exclude_spans=["receive", "send"])


def uvicorn_logging() -> dict[str, Any]:
    """uvicorn's own log config, each line ending with the request's trace ids."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = formatter["fmt"] + "%(otel)s"
    return config


#: The basicConfig format of both services: the same ids at the end of each line.
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s%(otel)s"


def _with_trace_ids(factory: Any) -> Any:
    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made: logging.LogRecord = factory(*args, **kwargs)
        context = trace.get_current_span().get_span_context()
        made.otel = (
            f" trace_id={context.trace_id:032x} span_id={context.span_id:016x}"
            if context.trace_flags.sampled
            else ""
        )
        return made

    return record


def record_failure(exc: BaseException) -> None:
    """The current request's span says what broke it. Called by an app's error
    handler: the server span ends with the response, before the exception could
    reach the instrumentation."""
    span = trace.get_current_span()
    if span.is_recording():
        span.record_exception(exc)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def instrument_httpx(client: Any) -> None:
    """Client spans for ``client``'s calls, which carry the request's trace onward."""
    if _tracing():
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client)


def instrument_psycopg() -> None:
    """db spans for psycopg's queries: statements only, never their parameters.
    Called after psycopg is imported (the instrumentation imports it)."""
    if _tracing():
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        PsycopgInstrumentor().instrument(capture_parameters=False, enable_commenter=False)


# -- OTLP JSON ------------------------------------------------------------------


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in (attributes or {}).items()]


def _span(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    encoded: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
        "name": span.name,
        "kind": _KINDS.get(span.kind, 1),
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or 0),
        "attributes": _attributes(span.attributes),
        "status": {"code": _STATUS[span.status.status_code.name]},
    }
    if span.parent is not None:
        encoded["parentSpanId"] = f"{span.parent.span_id:016x}"
    if span.status.description:
        encoded["status"]["message"] = span.status.description
    if span.events:
        encoded["events"] = [
            {
                "name": e.name,
                "timeUnixNano": str(e.timestamp),
                "attributes": _attributes(e.attributes),
            }
            for e in span.events
        ]
    return encoded


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """Spans as an OTLP/JSON ExportTraceServiceRequest, one resource per service."""
    by_resource: dict[int, tuple[Resource, list[dict[str, Any]]]] = {}
    for span in spans:
        by_resource.setdefault(id(span.resource), (span.resource, []))[1].append(_span(span))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes(resource.attributes)},
                "scopeSpans": [{"scope": {"name": "contoso"}, "spans": encoded}],
            }
            for resource, encoded in by_resource.values()
        ]
    }


class OtlpJsonExporter(SpanExporter):
    """POST each batch to an OTLP/HTTP endpoint as JSON; a failure drops the batch."""

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        import urllib.request  # on the exporter's thread, when there is something to send

        body = json.dumps(otlp_json(spans), separators=(",", ":")).encode()
        request = urllib.request.Request(
            self._endpoint, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=_EXPORT_TIMEOUT_SECONDS):
                return SpanExportResult.SUCCESS
        except OSError:
            return SpanExportResult.FAILURE  # nobody listening: tracing is best effort


class LogLineExporter(SpanExporter):
    """Each span as one OTLP/JSON line on stdout, where `compose logs` reads it."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            line = json.dumps(otlp_json([span]), separators=(",", ":"))
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
        return SpanExportResult.SUCCESS
