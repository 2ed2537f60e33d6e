"""The services' tracing for real, without Docker: web and chat run as their images
run them (``python -m ...``, contoso_telemetry on the path), a request carries the
smoke's trace context, and their spans come back to the smoke's own receiver (otlp)
or in their output (log), where the smoke's blame reads them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from smoke.trace import blame
from smoke.trace.context import Tracer
from smoke.trace.receiver import Receiver
from smoke.trace.spans import Span, from_logs
from tests.conftest import ROOT
from tests.services.conftest import free_port


@contextmanager
def service(module: str, port: int, **env: str) -> Iterator[subprocess.Popen[str]]:
    """``python -m module`` as its image runs it, until it answers /health."""
    folder = "chat" if module == "contoso_chat" else "web"
    process = subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT / folder,
        env={**os.environ, "PYTHONPATH": str(ROOT / "telemetry"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(f"{module} did not start")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def receiving(tracer: Tracer) -> Iterator[Receiver]:
    receiver = Receiver("127.0.0.1", 0, lambda trace_id: trace_id in tracer.trace_ids)
    try:
        yield receiver
    finally:
        receiver.close()


def otlp_env(receiver: Receiver) -> dict[str, str]:
    host, port = receiver.address
    return {
        "SMOKE_TRACE_EXPORT": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://{host}:{port}/v1/traces",
    }


def blame_of(tracer: Tracer, spans: list[Span], step: str) -> str | None:
    trace_id = tracer.trace_of(step)
    assert trace_id is not None
    trace = blame.Trace([s for s in spans if s.trace_id == trace_id], now=time.time())
    request = trace.failing_request()
    assert request is not None
    return blame.blame(trace, request)


def test_web_blames_its_call_to_a_closed_chat_port_from_the_spans() -> None:
    tracer = Tracer()
    web_port, closed = free_port(), free_port()
    with receiving(tracer) as receiver:
        env = {"WEB_PORT": str(web_port), "CHAT_URL": f"http://127.0.0.1:{closed}"}
        with (
            service("contoso_web", web_port, **otlp_env(receiver), **env),
            tracer.client() as client,
        ):
            with tracer.step("proxy call"):
                answered = client.post(
                    f"http://127.0.0.1:{web_port}/api/chat/service", json={"question": "tent"}
                )
            untraced = client.get(f"http://127.0.0.1:{web_port}/health")  # outside a step
            receiver.settle(quiet=0.3, limit=3)
        spans = tracer.spans() + receiver.spans()
    assert answered.status_code == 502
    assert untraced.status_code == 200
    assert {s.service for s in spans} == {"smoke", "web"}  # the health call: not sampled
    assert blame_of(tracer, spans, "proxy call") == (
        f"blame: web 502 ← web → 127.0.0.1: connection refused (http://127.0.0.1:{closed}/api/chat)"
    )


def test_chat_blames_db_on_its_request_span_while_db_is_down() -> None:
    tracer = Tracer()
    chat_port = free_port()
    env = {
        "CHAT_PORT": str(chat_port),
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(free_port()),  # nothing listens: db is down
        "POSTGRES_PASSWORD": "pw-never-in-a-span",
    }
    with receiving(tracer) as receiver:
        with service("contoso_chat", chat_port, **otlp_env(receiver), **env), tracer.client() as c:
            time.sleep(0.5)  # chat has tried db by now
            with tracer.step("dependencies"):
                answered = c.get(f"http://127.0.0.1:{chat_port}/health/dependencies")
            receiver.settle(quiet=0.3, limit=3)
        spans = tracer.spans() + receiver.spans()
    assert answered.status_code == 503
    said = blame_of(tracer, spans, "dependencies")
    assert said is not None
    assert said.startswith("blame: chat 503 ← db: unavailable for ")
    assert said.endswith(" s (connection refused)")
    (server,) = [s for s in spans if s.service == "chat"]
    assert server.attr("db.state.since")
    assert all("pw-never-in-a-span" not in repr(s) for s in spans)


def test_spans_come_out_as_log_lines_the_smoke_reads(tmp_path: Path) -> None:
    tracer = Tracer()
    web_port = free_port()
    env = {"WEB_PORT": str(web_port), "CHAT_URL": "http://127.0.0.1:9", "SMOKE_TRACE_EXPORT": "log"}
    with service("contoso_web", web_port, **env) as process, tracer.client() as client:
        with tracer.step("proxy call"):
            client.post(f"http://127.0.0.1:{web_port}/api/chat/service", json={"question": "x"})
        time.sleep(0.3)
        process.terminate()
        output, _ = process.communicate(timeout=10)
    spans = [s for s in from_logs(output) if s.trace_id in tracer.trace_ids]
    assert {s.name for s in spans} >= {"POST /api/chat/service", "POST"}
    trace_id = tracer.trace_of("proxy call")
    lines = [line for line in output.splitlines() if f"trace_id={trace_id}" in line]
    assert any('"POST /api/chat/service HTTP/1.1" 502' in line for line in lines)
