"""The chat service against a real PostgreSQL: contract, bad input, db errors."""

from __future__ import annotations

import dataclasses
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from contoso_chat.app import create_app
from contoso_chat.settings import Settings

pytestmark = pytest.mark.docker


@pytest.fixture
def chat(db_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(db_settings)) as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_health_reports_service_and_stack(chat: TestClient) -> None:
    response = chat.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["service"] == "chat"
    assert body["stack"] in ("minimal", "local")


def test_dependencies_round_trip_to_postgres(chat: TestClient) -> None:
    response = chat.get("/health/dependencies")
    assert response.status_code == 200
    db = response.json()["dependencies"]["db"]
    assert db["status"] == "ok"
    assert db["latency_ms"] > 0


def test_answer_depends_on_the_question(chat: TestClient) -> None:
    tent = chat.post("/api/chat", json={"question": "a tent for stargazing"}).json()
    boots = chat.post("/api/chat", json={"question": "boots for rocky trails"}).json()
    assert "SkyView" in tent["answer"]
    assert tent["sources"][0] == "TENT-002"
    assert "TrekReady" in boots["answer"]
    assert boots["sources"][0] == "BOOT-001"
    assert tent["conversation_id"] != boots["conversation_id"]


def test_exchange_is_stored_and_continues(chat: TestClient) -> None:
    first = chat.post("/api/chat", json={"question": "a headlamp"}).json()
    cid = first["conversation_id"]
    second = chat.post("/api/chat", json={"question": "a kayak", "conversation_id": cid})
    assert second.status_code == 200
    stored = chat.get(f"/api/conversations/{cid}").json()
    contents = [(m["role"], m["content"]) for m in stored["messages"]]
    assert contents == [
        ("user", "a headlamp"),
        ("assistant", first["answer"]),
        ("user", "a kayak"),
        ("assistant", second.json()["answer"]),
    ]


def test_unknown_conversation_is_404(chat: TestClient) -> None:
    response = chat.get(f"/api/conversations/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "not found" in response.json()["error"]


def test_seeding_is_idempotent(db_settings: Settings) -> None:
    for _ in range(2):  # a second start seeds again without error or duplicates
        with TestClient(create_app(db_settings)) as client:
            assert client.post("/api/chat", json={"question": "stove"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"not json", 400, None),
        (b"[1, 2]", 400, None),
        (b"{}", 422, "question"),
        (b'{"question": ""}', 422, "question"),
        (b'{"question": "   "}', 422, "question"),
        (b'{"question": 42}', 422, "question"),
        (b'{"question": "x' + b"x" * 4000 + b'"}', 422, "question"),
        (b'{"question": "tent", "conversation_id": "nope"}', 422, "conversation_id"),
        (b'{"question": "tent", "conversation_id": 7}', 422, "conversation_id"),
    ],
)
def test_bad_input_is_a_json_4xx_naming_the_field(
    chat: TestClient, body: bytes, status: int, field: str | None
) -> None:
    response = chat.post("/api/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    payload = response.json()
    assert payload["error"]
    assert payload.get("field") == field


def test_unknown_route_is_json(chat: TestClient) -> None:
    response = chat.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_db_unreachable_is_503_within_seconds(db_settings: Settings) -> None:
    nowhere = dataclasses.replace(db_settings, db_port=free_port(), db_timeout_seconds=2)
    with TestClient(create_app(nowhere)) as client:
        started = time.monotonic()
        response = client.get("/health/dependencies")
        elapsed = time.monotonic() - started
        chat_response = client.post("/api/chat", json={"question": "tent"})
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["dependencies"]["db"]["status"] == "error"
    assert body["dependencies"]["db"]["reason"]
    assert elapsed < 10
    assert chat_response.status_code == 503
    assert "database unavailable" in chat_response.json()["error"]
    assert db_settings.db_password not in response.text + chat_response.text


def test_db_stopped_then_back(db_stack: object, db_settings: Settings) -> None:
    from python_on_whales import DockerClient

    assert isinstance(db_stack, DockerClient)
    with TestClient(create_app(db_settings)) as client:
        db_stack.compose.pause(["db"])
        try:
            started = time.monotonic()
            paused = client.get("/health/dependencies")
            elapsed = time.monotonic() - started
        finally:
            db_stack.compose.unpause(["db"])
        assert paused.status_code == 503
        assert elapsed < 10
        assert client.get("/health/dependencies").status_code == 200
