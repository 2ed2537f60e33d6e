"""chat's and web's healthcheck, as the compose file writes it, run for real against a
local HTTP server: healthy on a 200 from /health only, with last words otherwise."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tests.conftest import COMPOSE_FILE


def healthcheck(service: str) -> list[str]:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    test: list[str] = services[service]["healthcheck"]["test"]
    return test


@contextlib.contextmanager
def server(status: int) -> Iterator[tuple[int, list[str]]]:
    """A server on a free loopback port answering ``status``; yields its port and the
    paths asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], asked
    finally:
        httpd.shutdown()
        httpd.server_close()


def check(service: str, port: int) -> subprocess.CompletedProcess[str]:
    """The service's healthcheck command, on this host's Python, against ``port``."""
    command = healthcheck(service)
    assert command[:2] == ["CMD", "python"]
    return subprocess.run(
        [sys.executable, *command[2:-1], str(port)],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


@pytest.mark.parametrize(("service", "port"), [("chat", "8000"), ("web", "3000")])
def test_each_service_checks_its_own_apps_port(service: str, port: str) -> None:
    assert healthcheck(service)[-1] == port


@pytest.mark.parametrize("service", ["chat", "web"])
def test_a_200_from_health_is_healthy(service: str) -> None:
    with server(200) as (port, asked):
        result = check(service, port)
    assert (result.returncode, result.stderr) == (0, "")
    assert asked == ["/health"]


@pytest.mark.parametrize("service", ["chat", "web"])
def test_any_other_answer_is_unhealthy_and_says_what_came(service: str) -> None:
    with server(503) as (port, _):
        result = check(service, port)
    assert result.returncode == 1
    assert result.stderr.startswith("/health answered 'HTTP/1.0 503 Service Unavailable'")


def test_nothing_listening_is_unhealthy_with_the_reason() -> None:
    with server(200) as (port, _):
        pass  # closed: nothing listens there now
    result = check("chat", port)
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("ConnectionRefusedError: [Errno 111] Connection refused")
