"""Where the engine is, and so where its published ports are reached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smoke.stack.engine import DEFAULT_HOST, Engine, is_loopback, locate


def never_asked() -> str:
    raise AssertionError("the docker context must not be asked for")


@pytest.mark.parametrize(
    ("host", "remote", "address"),
    [
        ("unix:///var/run/docker.sock", False, None),
        ("npipe:////./pipe/docker_engine", False, None),
        ("tcp://10.231.0.2:2375", True, "10.231.0.2"),
        ("ssh://ci@buildbox.internal", True, "buildbox.internal"),
        ("tcp://[fd00::5]:2376", True, "fd00::5"),
    ],
)
def test_docker_host_says_local_or_remote(host: str, remote: bool, address: str | None) -> None:
    engine = locate({"DOCKER_HOST": host}, context_host=never_asked)
    assert engine == Engine(host=host, remote=remote, remote_address=address)
    assert engine.describe() == f"{'remote' if remote else 'local'} engine {host}"


def test_no_docker_host_and_the_default_context_is_the_local_socket(tmp_path: Path) -> None:
    engine = locate({"DOCKER_CONFIG": str(tmp_path)}, context_host=never_asked)
    assert engine == Engine(host=DEFAULT_HOST, remote=False)
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "default"}))
    assert locate({"DOCKER_CONFIG": str(tmp_path)}, context_host=never_asked).host == DEFAULT_HOST


def test_another_context_is_asked_for_its_host(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "buildbox"}))
    engine = locate({"DOCKER_CONFIG": str(tmp_path)}, context_host=lambda: "ssh://ci@box")
    assert (engine.host, engine.remote, engine.remote_address) == ("ssh://ci@box", True, "box")
    named = locate({"DOCKER_CONTEXT": "vm"}, context_host=lambda: "tcp://192.0.2.9:2375")
    assert named.remote_address == "192.0.2.9"


def test_docker_host_wins_over_the_context(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "buildbox"}))
    env = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_HOST": "tcp://10.0.0.1:2375"}
    assert locate(env, context_host=never_asked).host == "tcp://10.0.0.1:2375"


def test_an_unreadable_docker_config_means_the_default(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    assert locate({"DOCKER_CONFIG": str(tmp_path)}, context_host=never_asked).host == DEFAULT_HOST


@pytest.mark.parametrize(
    ("published", "local", "remote"),
    [
        ("127.0.0.1", "127.0.0.1", "10.231.0.2"),
        ("0.0.0.0", "127.0.0.1", "10.231.0.2"),
        ("::", "127.0.0.1", "10.231.0.2"),
        ("", "127.0.0.1", "10.231.0.2"),
        ("[::1]", "::1", "10.231.0.2"),
        ("10.231.0.7", "10.231.0.7", "10.231.0.7"),
    ],
)
def test_where_a_published_port_is_reached(published: str, local: str, remote: str) -> None:
    assert Engine(DEFAULT_HOST, remote=False).probe_host(published) == local
    far = Engine("tcp://10.231.0.2:2375", remote=True, remote_address="10.231.0.2")
    assert far.probe_host(published) == remote


def test_smoke_host_overrides_the_address_to_probe() -> None:
    engine = locate({"DOCKER_HOST": "tcp://10.231.0.2:2375", "SMOKE_HOST": "198.51.100.4"})
    assert engine.probe_override == "198.51.100.4"
    assert engine.probe_host("0.0.0.0") == "198.51.100.4"
    assert engine.probe_host("10.231.0.7") == "198.51.100.4"
    assert locate({"SMOKE_HOST": ""}).probe_override is None


def test_ports_are_checked_locally_and_on_tcp_engines_not_through_ssh() -> None:
    assert Engine(DEFAULT_HOST, remote=False).can_check_ports()
    assert Engine("tcp://h:2375", remote=True, remote_address="h").can_check_ports()
    assert not Engine("ssh://h", remote=True, remote_address="h").can_check_ports()


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("example", False),
    ],
)
def test_loopback_addresses(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_ports_are_checked_on_http_engines_too() -> None:
    for scheme in ("http", "https"):
        engine = locate({"DOCKER_HOST": f"{scheme}://h:2376"}, context_host=never_asked)
        assert engine.remote
        assert engine.can_check_ports()


def test_the_default_docker_config_lives_in_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(json.dumps({"currentContext": "box"}))
    monkeypatch.setenv("HOME", str(tmp_path))
    engine = locate({}, context_host=lambda: "tcp://192.0.2.1:2375")
    assert engine.remote_address == "192.0.2.1"


def test_without_an_env_the_process_env_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://192.0.2.3:2375")
    assert locate(context_host=never_asked).remote_address == "192.0.2.3"
