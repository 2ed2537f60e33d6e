"""The published ports, checked before up: free here, reachable on a remote engine."""

from __future__ import annotations

import socket

import pytest

from smoke.errors import (
    EngineAddressUnreachable,
    PortInUse,
)
from tests.unit.fakes import FakeDocker, stack


def test_a_fixed_port_taken_locally_is_refused(listener: int) -> None:
    docker = FakeDocker(published={"web": str(listener), "chat": "0"})
    with pytest.raises(PortInUse) as caught:
        stack(docker).check_ports()
    assert str(caught.value) == f"port 127.0.0.1:{listener} for web is already in use"
    assert caught.value.hint == "free it, or set SMOKE_WEB_PORT (0 picks a free port)"
    assert caught.value.port == listener
    stack(docker).check_ports(reachable_only=True)  # a kept stack holds its own ports


def test_free_and_ephemeral_ports_pass() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    stack(FakeDocker(published={"web": str(free), "chat": "0"})).check_ports()


def test_a_remote_engine_publishing_on_its_loopback_is_refused() -> None:
    far = stack(FakeDocker(), DOCKER_HOST="tcp://10.231.0.2:2375")
    with pytest.raises(EngineAddressUnreachable) as caught:
        far.check_ports()
    assert str(caught.value) == (
        "the remote engine tcp://10.231.0.2:2375 publishes ports on its own loopback "
        "(127.0.0.1), which this machine cannot reach"
    )
    assert "SMOKE_BIND_ADDRESS=0.0.0.0" in caught.value.hint
    assert "SMOKE_HOST" in caught.value.hint
    tunnelled = stack(FakeDocker(), DOCKER_HOST="tcp://10.231.0.2:2375", SMOKE_HOST="127.0.0.1")
    tunnelled.check_ports()  # SMOKE_HOST says where to probe: trusted


def test_on_a_remote_tcp_engine_a_port_that_accepts_is_taken(listener: int) -> None:
    docker = FakeDocker(published={"web": str(listener), "chat": "0"}, host_ip="0.0.0.0")
    far = stack(docker, DOCKER_HOST="tcp://127.0.0.1:2375")
    with pytest.raises(PortInUse, match=rf"port 127.0.0.1:{listener} for web"):
        far.check_ports()
    ssh = stack(docker, DOCKER_HOST="ssh://127.0.0.1")
    ssh.check_ports()  # not checkable through ssh: skipped, never this machine's ports
