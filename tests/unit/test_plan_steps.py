"""The plan's steps as a run shows them: what `compose up` is asked for, the notes
on a step's line, and what each contract failure carries."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from smoke.errors import ContractDrift
from tests.unit.fakes import FakeDocker, FakeServices, chat_openapi
from tests.unit.test_run import run


def test_compose_up_builds_unless_told_not_to(tmp_path: Path) -> None:
    for build in (True, False):
        docker = FakeDocker()
        _, error = run(tmp_path, docker, FakeServices(), build=build)
        assert error is None
        ((_, kwargs),) = [(a, k) for name, a, k in docker.asked if name == "compose up"]
        assert (kwargs["build"], kwargs["no_build"]) == (build, not build)


def test_compose_up_starts_the_chat_image_asked_for(tmp_path: Path) -> None:
    tags: list[str | None] = []
    docker = FakeDocker()
    original = docker.compose.up

    def up(*args: Any, **kwargs: Any) -> None:
        tags.append(os.environ.get("CHAT_IMAGE_TAG"))
        original(*args, **kwargs)

    docker.compose.up = up
    health = {"status": "ok", "stack": "local", "model": "m", "dimension": 384}
    run(tmp_path, docker, FakeServices(health=health), profile="full", browser=False)
    run(
        tmp_path,
        docker,
        FakeServices(health=health),
        profile="full",
        browser=False,
        install_local_stack=True,
    )
    assert tags == ["latest", "local"]


def test_the_dependency_step_notes_dbs_latency(tmp_path: Path) -> None:
    timed = {"status": "ok", "dependencies": {"db": {"status": "ok", "latency_ms": 12}}}
    output, _ = run(tmp_path, FakeDocker(), FakeServices(db_body=timed))
    line = next(x for x in output.splitlines() if "✓ chat dependency health (db)" in x)
    assert line.endswith("  db 12 ms")
    untimed = {"status": "ok", "dependencies": {"db": {"status": "ok"}}}
    output, _ = run(tmp_path, FakeDocker(), FakeServices(db_body=untimed))
    line = next(x for x in output.splitlines() if "✓ chat dependency health (db)" in x)
    assert line.endswith("  db ? ms")


def test_the_local_stack_step_notes_the_model(tmp_path: Path) -> None:
    health = {"status": "ok", "stack": "local", "model": "all-MiniLM-L6-v2", "dimension": 384}
    body = {"answer": "Try the bag.", "conversation_id": "c1", "sources": ["BAG-001"]}
    output, _ = run(
        tmp_path,
        FakeDocker(),
        FakeServices(health=health, chat_body=body),
        profile="full",
        browser=False,
        install_local_stack=True,
    )
    line = next(x for x in output.splitlines() if "✓ chat local stack" in x)
    assert line.endswith("  all-MiniLM-L6-v2, 384 dimensions")
    line = next(x for x in output.splitlines() if "✓ semantic retrieval" in x)
    assert line.endswith("  BAG-001 first")


def test_schema_drift_shows_the_body_web_returned(tmp_path: Path) -> None:
    body = {"answer": "Try it.", "conversation_id": 7, "sources": []}
    services = FakeServices(chat_body=body, openapi=chat_openapi())
    _, error = run(tmp_path, FakeDocker(), services)
    assert isinstance(error, ContractDrift)
    assert (error.status, error.body) == (
        200,
        '{"answer": "Try it.", "conversation_id": 7, "sources": []}',
    )
    assert str(error) == (
        "response contract drift against chat's schema: $.conversation_id: expected string, "
        "got integer"
    )


def test_strict_contract_without_a_schema_says_what_chat_must_publish(tmp_path: Path) -> None:
    _, error = run(tmp_path, FakeDocker(), FakeServices(openapi=None), strict_contract=True)
    assert isinstance(error, ContractDrift)
    assert error.hint == "chat must publish its OpenAPI document at GET /openapi.json"
    assert str(error) == (
        "response contract: no schema to check against (--strict-contract): "
        "chat GET /openapi.json answered HTTP 404"
    )
