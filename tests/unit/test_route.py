"""How spans come back: chosen from where the engine is, fixed per project."""

from __future__ import annotations

import socket

import pytest

from smoke.stack.engine import Engine
from smoke.trace import route
from smoke.trace.route import Route, choose, interface_address, project_port


def test_the_port_is_fixed_per_project_and_below_the_ephemeral_range() -> None:
    assert project_port("contoso-smoke") == project_port("contoso-smoke")
    ports = {project_port(f"p{i}") for i in range(200)}
    assert len(ports) > 150  # spread out
    assert all(20000 <= port < 30000 for port in ports)


def test_a_local_engine_with_its_bridge_here_sends_spans_to_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        route, "interface_address", lambda name: {"docker0": "172.17.0.1"}.get(name)
    )
    chosen = choose(Engine("unix:///var/run/docker.sock", remote=False), "proj")
    assert chosen == Route("otlp", "172.17.0.1", project_port("proj"))
    assert chosen.compose_env() == {
        "SMOKE_TRACE_EXPORT": "otlp",
        "SMOKE_TRACE_PORT": str(project_port("proj")),
    }
    assert (
        chosen.describe() == f"spans by OTLP to this process at 172.17.0.1:{project_port('proj')}"
    )


def test_a_remote_engine_or_no_bridge_reads_spans_from_the_logs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(route, "interface_address", lambda name: "172.17.0.1")
    remote = choose(Engine("tcp://10.0.0.2:2375", remote=True, remote_address="10.0.0.2"), "p")
    assert remote == Route("log", None, project_port("p"))
    assert remote.compose_env()["SMOKE_TRACE_EXPORT"] == "log"
    assert "from the services' logs" in remote.describe()
    monkeypatch.setattr(route, "interface_address", lambda name: None)
    assert choose(Engine("unix:///x", remote=False), "p").mode == "log"


def test_an_interface_address_is_read_from_the_kernel() -> None:
    assert interface_address("lo") == "127.0.0.1"
    assert interface_address("no-such-interface0") is None
    assert socket.inet_aton(interface_address("lo") or "")  # a real IPv4 address
