"""A real PostgreSQL for the services' tests: the compose file's own db service,
published on a free loopback port, removed after the session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from python_on_whales import DockerClient

from contoso_chat.settings import Settings
from tests.conftest import COMPOSE_FILE, ROOT, leftovers


@pytest.fixture(scope="session")
def db_stack(docker_engine: None) -> Iterator[DockerClient]:
    project = f"smoke-db-{uuid.uuid4().hex[:8]}"
    docker = DockerClient(
        compose_files=[COMPOSE_FILE, ROOT / "tests/compose/db-published.yml"],
        compose_project_name=project,
    )
    try:
        docker.compose.up(["db"], detach=True, wait=True, wait_timeout=60, quiet=True)
        yield docker
    finally:
        docker.compose.down(volumes=True, remove_orphans=True, timeout=2, quiet=True)
    assert leftovers(project) == []


def settings_for(docker: DockerClient, *, timeout: float = 3.0) -> Settings:
    config = docker.compose.config(return_json=True)
    env = config["services"]["db"]["environment"]
    host, port = docker.compose.port("db", 5432)
    assert port is not None
    return Settings(
        db_host=host or "127.0.0.1",
        db_port=port,
        db_user=env["POSTGRES_USER"],
        db_password=env["POSTGRES_PASSWORD"],
        db_name=env["POSTGRES_DB"],
        db_timeout_seconds=timeout,
    )


@pytest.fixture(scope="session")
def db_settings(db_stack: DockerClient) -> Settings:
    return settings_for(db_stack)
