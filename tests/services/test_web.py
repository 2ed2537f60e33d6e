"""The web service: its page, and the proxy to a real chat (backed by a real db),
to a chat that is not there (502) and to a chat that is too slow (504)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.testclient import TestClient

from contoso_chat.app import create_app as create_chat
from contoso_chat.settings import Settings
from contoso_web.app import Settings as WebSettings
from contoso_web.app import create_app as create_web


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chat_url(db_settings: Settings) -> Iterator[str]:
    """A real chat service on a loopback port, in a thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_chat(db_settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "chat did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a chat that is too slow."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def web(chat_url: str, timeout: float = 5.0) -> TestClient:
    return TestClient(create_web(WebSettings(chat_url=chat_url, chat_timeout_seconds=timeout)))


def test_page_has_a_question_form() -> None:
    with web("http://127.0.0.1:9") as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<form" in response.text
    assert "/api/chat/service" in response.text


def test_health() -> None:
    with web("http://127.0.0.1:9") as client:
        assert client.get("/health").json() == {"status": "ok", "service": "web"}


@pytest.mark.docker
def test_proxy_returns_chats_answer_unchanged(chat_url: str) -> None:
    with web(chat_url) as client:
        response = client.post("/api/chat/service", json={"question": "a rain jacket"})
    assert response.status_code == 200
    body = response.json()
    assert "RainGuard" in body["answer"]
    assert body["sources"][0] == "JACKET-001"


@pytest.mark.docker
def test_proxy_passes_chats_errors_through(chat_url: str) -> None:
    with web(chat_url) as client:
        response = client.post("/api/chat/service", json={"question": ""})
    assert response.status_code == 422
    assert response.json()["field"] == "question"


def test_chat_unreachable_is_502_json() -> None:
    with web(f"http://127.0.0.1:{free_port()}") as client:
        response = client.post("/api/chat/service", json={"question": "tent"})
    assert response.status_code == 502
    assert "chat unreachable" in response.json()["error"]


def test_chat_too_slow_is_504_json(silent_server: str) -> None:
    with web(silent_server, timeout=0.5) as client:
        started = time.monotonic()
        response = client.post("/api/chat/service", json={"question": "tent"})
    assert response.status_code == 504
    assert "did not answer within 0.5s" in response.json()["error"]
    assert time.monotonic() - started < 5


def test_unknown_route_is_json_not_html() -> None:
    with web("http://127.0.0.1:9") as client:
        response = client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}
