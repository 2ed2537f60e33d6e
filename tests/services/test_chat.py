"""The chat service against a real PostgreSQL: contract, bad input, and what it
does when db is missing, wrong, late, paused or restarted."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from python_on_whales import DockerClient
from starlette.testclient import TestClient

from contoso_chat.app import create_app
from contoso_chat.settings import Settings
from tests.services.conftest import db_only, free_port, settings_for

pytestmark = pytest.mark.docker


@pytest.fixture
def chat(db_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(db_settings)) as client:
        wait_until_ready(client)
        yield client


def poll(
    client: TestClient, path: str, done: Callable[[httpx.Response], bool], within: float
) -> tuple[httpx.Response, float]:
    """GET ``path`` until ``done`` says so or ``within`` seconds pass (then the last answer)."""
    started = time.monotonic()
    while True:
        response = client.get(path)
        elapsed = time.monotonic() - started
        if done(response) or elapsed > within:
            return response, elapsed
        time.sleep(0.05)


def wait_until_ready(client: TestClient, within: float = 10) -> float:
    response, elapsed = poll(client, "/health/dependencies", lambda r: r.status_code == 200, within)
    assert response.status_code == 200, response.text
    return elapsed


def db_reason(response: httpx.Response) -> str:
    return str(response.json()["dependencies"]["db"].get("reason"))


def test_health_reports_service_and_stack(chat: TestClient) -> None:
    response = chat.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "chat", "stack": "minimal"}


def test_dependencies_report_the_seeded_catalog(chat: TestClient) -> None:
    response = chat.get("/health/dependencies")
    assert response.status_code == 200
    db = response.json()["dependencies"]["db"]
    assert db["status"] == "ok"
    assert db["latency_ms"] > 0
    assert db["products"] == 12


def test_answer_depends_on_the_question(chat: TestClient) -> None:
    tent = chat.post("/api/chat", json={"question": "a tent for stargazing"}).json()
    boots = chat.post("/api/chat", json={"question": "boots for rocky trails"}).json()
    assert "SkyView" in tent["answer"]
    assert tent["sources"][0] == "TENT-002"
    assert "TrekReady" in boots["answer"]
    assert boots["sources"][0] == "BOOT-001"
    assert tent["conversation_id"] != boots["conversation_id"]


def test_exchange_is_stored_and_continues(chat: TestClient) -> None:
    first = chat.post("/api/chat", json={"question": "  a headlamp "}).json()
    cid = first["conversation_id"]
    second = chat.post("/api/chat", json={"question": "a kayak", "conversation_id": cid})
    assert second.status_code == 200
    assert second.json()["conversation_id"] == cid
    stored = chat.get(f"/api/conversations/{cid}").json()
    contents = [(m["role"], m["content"]) for m in stored["messages"]]
    assert contents == [
        ("user", "a headlamp"),
        ("assistant", first["answer"]),
        ("user", "a kayak"),
        ("assistant", second.json()["answer"]),
    ]
    assert stored["messages"][1]["sources"] == first["sources"]


def test_unknown_conversation_is_404(chat: TestClient) -> None:
    unknown = uuid.uuid4()
    response = chat.get(f"/api/conversations/{unknown}")
    assert response.status_code == 404
    assert response.json() == {"error": f"conversation {unknown} not found"}
    continued = chat.post("/api/chat", json={"question": "tent", "conversation_id": str(unknown)})
    assert continued.status_code == 404
    assert continued.json()["field"] == "conversation_id"


def test_seeding_is_idempotent(db_settings: Settings) -> None:
    for _ in range(2):  # a second start seeds again without error or duplicates
        with TestClient(create_app(db_settings)) as client:
            wait_until_ready(client)
            assert client.get("/health/dependencies").json()["dependencies"]["db"]["products"] == 12


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        (b"not json", 400, None, "request body must be JSON"),
        (b"[1, 2]", 400, None, "request body must be a JSON object"),
        (b"", 400, None, "request body must be"),
        (b"{}", 422, "question", "question is required"),
        (b'{"question": ""}', 422, "question", "question must not be empty"),
        (b'{"question": "   "}', 422, "question", "question must hold some text"),
        (b'{"question": "a\\u0000b"}', 422, "question", "no NUL characters"),
        (b'{"question": "\\ud800"}', 422, "question", "valid UTF-8"),
        (b'{"question": 42}', 422, "question", "question must be a string"),
        (b'{"question": "x' + b"x" * 4000 + b'"}', 422, "question", "at most 4000 characters"),
        (b'{"question": "tent", "conversation_id": "nope"}', 422, "conversation_id", "a UUID"),
        (b'{"question": "tent", "conversation_id": 7}', 422, "conversation_id", "a UUID"),
    ],
)
def test_bad_input_is_a_json_4xx_naming_the_field(
    chat: TestClient, body: bytes, status: int, field: str | None, message: str
) -> None:
    response = chat.post("/api/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    payload = response.json()
    assert message in payload["error"]
    assert payload.get("field") == field


def test_a_malformed_conversation_id_in_the_path_is_422(chat: TestClient) -> None:
    response = chat.get("/api/conversations/nope")
    assert response.status_code == 422
    assert response.json() == {
        "error": "conversation_id must be a UUID",
        "field": "conversation_id",
    }


def test_unknown_route_is_json(chat: TestClient) -> None:
    response = chat.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_openapi_document_describes_the_api(chat: TestClient) -> None:
    document = chat.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/health",
        "/health/dependencies",
        "/api/chat",
        "/api/conversations/{conversation_id}",
    }
    chat_op = document["paths"]["/api/chat"]["post"]
    assert set(chat_op["responses"]) == {"200", "400", "404", "422", "503"}
    answer = document["components"]["schemas"]["ChatAnswer"]
    assert answer["required"] == ["answer", "conversation_id", "sources"]
    assert answer["properties"]["sources"]["type"] == "array"


# -- db missing, wrong, paused, restarted ----------------------------------------------


def test_db_unreachable_is_503_at_once_with_the_reason(db_settings: Settings) -> None:
    nowhere = dataclasses.replace(db_settings, db_port=free_port(), db_timeout_seconds=2)
    with TestClient(create_app(nowhere)) as client:
        health = client.get("/health")
        started = time.monotonic()
        response, _ = poll(
            client, "/health/dependencies", lambda r: db_reason(r) != "connecting", 5
        )
        chat_response = client.post("/api/chat", json={"question": "tent"})
        elapsed = time.monotonic() - started
    assert health.status_code == 200  # chat itself is up without a db
    assert response.status_code == 503
    db = response.json()["dependencies"]["db"]
    assert (db["status"], db["reason"], db["transient"]) == ("error", "connection refused", True)
    assert chat_response.status_code == 503
    assert chat_response.json() == {"error": "database unavailable: connection refused"}
    assert elapsed < 5
    assert db_settings.db_password not in response.text + chat_response.text


def test_wrong_password_is_named_and_not_transient(db_settings: Settings) -> None:
    wrong = dataclasses.replace(db_settings, db_password="not-the-password")
    with TestClient(create_app(wrong)) as client:
        response, elapsed = poll(
            client, "/health/dependencies", lambda r: db_reason(r) != "connecting", 5
        )
    db = response.json()["dependencies"]["db"]
    assert response.status_code == 503
    assert db["reason"] == "authentication failed"
    assert db["transient"] is False
    assert "not-the-password" not in response.text
    assert elapsed < 5


def test_chat_started_before_db_serves_once_db_is_up(own_db_port: int) -> None:
    with db_only(start=False) as docker:
        settings = settings_for(docker, port=own_db_port)
        with TestClient(create_app(settings)) as client:
            early = client.get("/health/dependencies")
            asked = client.post("/api/chat", json={"question": "tent"})
            docker.compose.up(["db"], detach=True, quiet=True)
            elapsed = wait_until_ready(client, within=20)
            answered = client.post("/api/chat", json={"question": "tent"})
    assert early.status_code == 503
    assert asked.status_code == 503  # never 500, never a hang
    assert answered.status_code == 200
    assert elapsed < 20


def test_db_paused_then_back(own_db: DockerClient) -> None:
    settings = settings_for(own_db, timeout=1)
    with TestClient(create_app(settings)) as client:
        wait_until_ready(client)
        own_db.compose.pause(["db"])
        try:
            started = time.monotonic()
            paused = client.get("/health/dependencies")
            question = client.post("/api/chat", json={"question": "tent"})
            elapsed = time.monotonic() - started
        finally:
            own_db.compose.unpause(["db"])
        assert paused.status_code == 503
        assert question.status_code == 503
        assert elapsed < 10
        back = wait_until_ready(client, within=10)
        assert client.post("/api/chat", json={"question": "tent"}).status_code == 200
    assert back < 10


def test_db_restarted_empty_is_reseeded_within_seconds(own_db: DockerClient) -> None:
    """db keeps its data on tmpfs: a restart brings it back empty. Chat reconnects and
    seeds it again by itself, and its dependency check only says ok once it can serve."""
    settings = settings_for(own_db)
    with TestClient(create_app(settings)) as client:
        wait_until_ready(client)
        before = client.post("/api/chat", json={"question": "tent"}).json()["conversation_id"]
        own_db.compose.restart(["db"], timeout=2)
        back_at = time.monotonic()
        elapsed = wait_until_ready(client, within=15)
        answered = client.post("/api/chat", json={"question": "a kayak for calm rivers"})
        old = client.get(f"/api/conversations/{before}")
    assert elapsed < 5, f"dependency check ok only {elapsed:.1f}s after db was back"
    assert time.monotonic() - back_at < 15
    assert answered.status_code == 200
    assert answered.json()["sources"][0] == "KAYAK-001"
    assert old.status_code == 404  # the data went with the restart; chat says so
