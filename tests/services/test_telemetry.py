"""The services' tracing for real, without Docker: web and chat run as their images
run them (``python -m ...``, contoso_telemetry on the path), a request carries the
smoke's trace context, and their spans come back to the smoke's own receiver (otlp)
or in their output (log), where the smoke's blame reads them."""

from __future__ import annotations

import os
import re
import socket
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
from smoke.trace.spans import Span, from_logs, latest
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
    mine = latest(s for s in spans if s.trace_id == trace_id)
    trace = blame.Trace(mine, now=time.time())
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


def test_a_request_web_still_holds_is_blamed_on_web_from_its_start_record() -> None:
    """web's call goes to an address that takes the connection and never answers:
    while the smoke waits, web's server span has come back as a start record, so the
    request the smoke gave up on is blamed on web, with how long it held it."""
    tracer = Tracer()
    web_port = free_port()
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    env = {
        "WEB_PORT": str(web_port),
        "CHAT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
        "WEB_CHAT_TIMEOUT_SECONDS": "30",
    }
    with (
        silent,
        receiving(tracer) as receiver,
        service("contoso_web", web_port, **otlp_env(receiver), **env),
        tracer.client() as client,
    ):
        with tracer.step("proxy call"), pytest.raises(httpx.ReadTimeout):
            client.post(
                f"http://127.0.0.1:{web_port}/api/chat/service",
                json={"question": "tent"},
                timeout=1.5,
            )
        receiver.settle(quiet=0.3, limit=3)
        spans = tracer.spans() + receiver.spans()
    records = [s for s in spans if s.service == "web"]
    assert {(s.kind, s.end) for s in records} == {(2, None), (3, None)}  # taken, called
    said = blame_of(tracer, spans, "proxy call")
    assert said is not None
    assert re.fullmatch(
        rf"blame: web → 127\.0\.0\.1: no answer after 1\.\d s \(its call POST "
        rf"{env['CHAT_URL']}/api/chat never came back\)",
        said,
    ), said


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
    (server,) = [s for s in latest(spans) if s.service == "chat"]
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
