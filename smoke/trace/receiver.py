"""An OTLP/HTTP receiver in the smoke's own process: ``POST /v1/traces`` with OTLP
JSON, on the address the containers reach this host at (never every interface).

It keeps only spans of trace ids this run started, bounds what it accepts (body
size and span count), and stops with the run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from smoke import clock
from smoke.trace.spans import Span, from_otlp

PATH = "/v1/traces"
MAX_BODY_BYTES = 4_000_000
MAX_SPANS = 20_000
#: How often the server looks whether it is to stop: closing waits up to this long,
#: at the end of every run.
_POLL_SECONDS = 0.01
#: The least a settle sleeps at a time (so rounding never makes it spin).
_STEP_SECONDS = 0.005
#: How often a settle looks again for the spans it awaits.
_AWAIT_SECONDS = 0.02


class Receiver:
    def __init__(
        self,
        address: str,
        port: int,
        accept: Callable[[str], bool],
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_spans: int = MAX_SPANS,
    ) -> None:
        self._accept = accept
        self._max_body = max_body_bytes
        self._max_spans = max_spans
        self._spans: list[Span] = []
        self._last_arrival = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((address, port), self._handler())  # may raise OSError
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": _POLL_SECONDS}, daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def settle(
        self,
        awaited: Callable[[list[Span]], bool] | None = None,
        *,
        quiet: float = 0.15,
        limit: float = 1.5,
    ) -> None:
        """Wait (at most ``limit`` s) until ``awaited`` holds of the spans received, if
        given, and no span has arrived for ``quiet`` s: the services export in batches
        a few tens of milliseconds apart, later on a loaded machine."""
        deadline = clock.monotonic() + limit
        while clock.monotonic() < deadline:
            with self._lock:
                since = clock.monotonic() - self._last_arrival
                come = awaited is None or awaited(self._spans)
            if since >= quiet and come:
                return
            pause = quiet - since if since < quiet else _AWAIT_SECONDS
            clock.sleep(min(max(pause, _STEP_SECONDS), max(0.0, deadline - clock.monotonic())))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def _keep(self, spans: list[Span]) -> None:
        wanted = [s for s in spans if self._accept(s.trace_id)]
        with self._lock:
            room = self._max_spans - len(self._spans)
            self._spans.extend(wanted[: max(0, room)])
            if wanted:
                self._last_arrival = clock.monotonic()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path.split("?")[0] != PATH:
                    return self._answer(404)
                if "json" not in (self.headers.get("Content-Type") or ""):
                    return self._answer(415)  # the services send JSON; protobuf is not read
                try:
                    length = int(self.headers.get("Content-Length") or "")
                except ValueError:
                    return self._answer(411)
                if length < 0 or length > receiver._max_body:
                    return self._answer(413)
                try:
                    payload = json.loads(self.rfile.read(length))
                except ValueError:
                    return self._answer(400)
                receiver._keep(from_otlp(payload))
                return self._answer(200)

            def _answer(self, status: int) -> None:
                body = b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the run's console is the user's; nothing to say per batch

        return Handler
