"""The reference stack for real: compose builds and runs db, chat and web, a question
goes through web, the conversation is read back from chat, and `down -v` leaves
nothing behind."""

from __future__ import annotations

import httpx
import pytest
from python_on_whales import DockerClient

from tests.conftest import COMPOSE_FILE, leftovers

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("ephemeral_ports")]


def test_stack_answers_through_web_and_stores_the_conversation(clean_project: str) -> None:
    docker = DockerClient(compose_files=[COMPOSE_FILE], compose_project_name=clean_project)
    try:
        docker.compose.up(detach=True, build=True, wait=True, wait_timeout=300, quiet=True)
        web_host, web_port = docker.compose.port("web", 3000)
        chat_host, chat_port = docker.compose.port("chat", 8000)
        assert web_host == chat_host == "127.0.0.1"  # never 0.0.0.0
        web = f"http://127.0.0.1:{web_port}"
        chat = f"http://127.0.0.1:{chat_port}"

        tent = httpx.post(f"{web}/api/chat/service", json={"question": "tent for stargazing"})
        stove = httpx.post(f"{web}/api/chat/service", json={"question": "camping stove"})
        assert tent.status_code == stove.status_code == 200
        assert "SkyView" in tent.json()["answer"]
        assert "EcoFire" in stove.json()["answer"]

        cid = tent.json()["conversation_id"]
        stored = httpx.get(f"{chat}/api/conversations/{cid}").json()
        assert [m["content"] for m in stored["messages"]] == [
            "tent for stargazing",
            tent.json()["answer"],
        ]
        assert httpx.get(f"{web}/").status_code == 200

        users = {c.config.user for c in docker.compose.ps()}
        assert users.isdisjoint({"", "root", "0"}), users

        # Every service stops on its stop signal instead of being killed after the grace period.
        containers = docker.compose.ps()
        docker.compose.stop()
        killed = [c.name for c in containers if c.state.exit_code == 137]
        assert killed == [], f"killed instead of stopping cleanly: {killed}"
    finally:
        docker.compose.down(volumes=True, remove_orphans=True, quiet=True)
    assert leftovers(clean_project) == []


def test_config_publishes_nothing_on_all_interfaces(project: str) -> None:
    docker = DockerClient(compose_files=[COMPOSE_FILE], compose_project_name=project)
    config = docker.compose.config(return_json=True)
    published = [
        (name, port)
        for name, service in config["services"].items()
        for port in service.get("ports") or []
    ]
    assert published, "web and chat publish ports"
    for name, port in published:
        assert port.get("host_ip") == "127.0.0.1", f"{name} publishes on {port.get('host_ip')!r}"
    for name, service in config["services"].items():
        assert "start_interval" not in (service.get("healthcheck") or {}), name


def test_build_ca_never_lands_in_an_image(project: str) -> None:
    """The CA bundle reaches pip as a BuildKit secret: no layer keeps it."""
    docker = DockerClient(compose_files=[COMPOSE_FILE], compose_project_name=project)
    docker.compose.build(quiet=True)
    for image in ("contoso-chat", "contoso-web"):
        listing = docker.run(
            image,
            [
                "sh",
                "-c",
                "ls -A /run/secrets 2>/dev/null; grep -rl 'BEGIN CERTIFICATE' "
                "/opt/venv /app /tmp 2>/dev/null | grep -v certifi || true",
            ],
            remove=True,
        )
        assert listing == "", f"{image}: {listing}"
