"""The web service: its page, and the proxy to a real chat (backed by a real db),
to a chat that is not there (502) and to a chat that is too slow (504)."""

from __future__ import annotations

import re
import time

import pytest
from starlette.testclient import TestClient

from contoso_web.app import Settings as WebSettings
from contoso_web.app import create_app as create_web
from tests.services.conftest import free_port


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


def test_chat_spoken_to_in_tls_is_said_by_tls_not_by_an_errno(chat_url: str) -> None:
    """chat speaks http; an https URL fails in the TLS handshake. SSLError's errno 1
    is no EPERM: "operation not permitted" would send a reader the wrong way."""
    with web(chat_url.replace("http://", "https://")) as client:
        response = client.post("/api/chat/service", json={"question": "tent"})
    assert response.status_code == 502
    said = response.json()["error"]
    assert re.search(r"chat unreachable at https://\S+: SSL: [A-Z_]+", said), said
    assert "not permitted" not in said


def test_a_chat_name_that_does_not_resolve_is_said_as_such() -> None:
    """A resolver's error number (-2) is no errno: said by its words, not 'unknown error'."""
    with web("http://no-such-chat.invalid:8000") as client:
        response = client.post("/api/chat/service", json={"question": "tent"})
    assert response.status_code == 502
    said = response.json()["error"]
    assert "unknown error" not in said
    assert re.search(r"name or service not known|temporary failure in name resolution", said), said
