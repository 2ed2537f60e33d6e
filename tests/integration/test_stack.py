"""The reference stack for real: compose builds and runs db, chat and web, a question
goes through web, the conversation is read back from chat, and `down -v` leaves
nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from python_on_whales import DockerClient

from tests.conftest import COMPOSE_FILE, ROOT, image, leftovers

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("ephemeral_ports")]


def test_stack_answers_through_web_and_stores_the_conversation(clean_project: str) -> None:
    """As a compose user runs it: `up --wait` ends with all three services healthy."""
    docker = DockerClient(compose_files=[COMPOSE_FILE], compose_project_name=clean_project)
    try:
        docker.compose.up(detach=True, build=True, wait=True, wait_timeout=300, quiet=True)
        health = {c.name.split("-")[-2]: c.state.health.status for c in docker.compose.ps()}
        assert health == {"db": "healthy", "chat": "healthy", "web": "healthy"}
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
    # chat starts right after db, but nothing gates it on db's health.
    assert config["services"]["chat"]["depends_on"]["db"]["condition"] == "service_started"


def build_ca_marker() -> str | None:
    """A line only the build CA bundle holds: from a certificate of it that no public
    bundle (certifi's) carries, such as an intercepting proxy's own CA."""
    import certifi

    name = os.environ.get("SMOKE_BUILD_CA_FILE") or dotenv().get("SMOKE_BUILD_CA_FILE")
    if not name or not Path(name).is_file():
        return None
    public = Path(certifi.where()).read_text()
    for block in Path(name).read_text().split("-----BEGIN CERTIFICATE-----")[1:]:
        lines = block.strip().splitlines()
        if lines and lines[0] not in public:
            return lines[0]
    return None


def dotenv() -> dict[str, str]:
    path = ROOT / ".env"
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {name: value for name, value in pairs}


@pytest.mark.usefixtures("lite_images", "local_images")
def test_build_ca_never_lands_in_an_image() -> None:
    """The CA bundle reaches pip as a BuildKit secret: no layer keeps it."""
    marker = build_ca_marker()
    docker = DockerClient()
    for name in (image("chat"), image("chat", "local"), image("web")):
        search = f"grep -rlF '{marker}' /opt /app /tmp 2>/dev/null || true" if marker else "true"
        listing = docker.run(
            name, ["sh", "-c", f"ls -A /run/secrets 2>/dev/null; {search}"], remove=True
        )
        assert listing == "", f"{name}: {listing}"
