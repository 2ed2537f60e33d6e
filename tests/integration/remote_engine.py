"""A second Docker engine that is remote in the sense that matters: its published
ports are not this machine's. It runs in a network namespace of its own, reached at
10.231.0.2 over a veth pair; it builds with pip through the host (masqueraded), and
gets the images it runs by `docker save | docker load`. Root only; torn down after.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.conftest import ROOT

SUBNET = "10.231.0"
HOST_SIDE, ENGINE_SIDE = f"{SUBNET}.1", f"{SUBNET}.2"
PORT = 2375
DATA_ROOT = Path("/var/lib/docker-remote")
EXEC_ROOT = Path("/var/run/docker-remote")
PIDFILE = Path("/var/run/docker-remote.pid")
SOCKET = "/var/run/docker-remote.sock"
VETH = "veth-smoke-h"
PEER = "veth-smoke-n"
TOOLS = ("ip", "nsenter", "iptables", "dockerd")


@dataclass(frozen=True)
class RemoteEngine:
    host: str  # tcp://10.231.0.2:2375
    address: str  # 10.231.0.2
    log: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"DOCKER_HOST": self.host, **extra}


def missing_prerequisites() -> str | None:
    if os.geteuid() != 0:
        return "a second engine in a network namespace needs root"
    absent = [tool for tool in TOOLS if shutil.which(tool) is None]
    return f"missing {', '.join(absent)}" if absent else None


def _run(
    *args: str, check: bool = True, stdin: IO[bytes] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, check=check, capture_output=True, timeout=300, stdin=stdin)


def _quiet(*args: str) -> None:
    _run(*args, check=False)


def _iptables_rules() -> list[list[str]]:
    return [
        ["-t", "nat", "POSTROUTING", "-s", f"{SUBNET}.0/24", "!", "-o", VETH, "-j", "MASQUERADE"],
        ["DOCKER-USER", "-i", VETH, "-j", "ACCEPT"],
        ["DOCKER-USER", "-o", VETH, "-j", "ACCEPT"],
    ]


def _rule(action: str, rule: list[str]) -> list[str]:
    if rule[0] == "-t":
        return ["iptables", rule[0], rule[1], action, *rule[2:]]
    return ["iptables", action, *rule]


def _stop_engine() -> None:
    if PIDFILE.exists():
        with contextlib.suppress(ValueError, ProcessLookupError):
            pid = int(PIDFILE.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.2)
            os.kill(pid, signal.SIGKILL)


def _clean(namespace: str | None) -> None:
    """Undo everything, also what a crashed earlier run left."""
    _stop_engine()
    for rule in _iptables_rules():
        _quiet(*_rule("-D", rule))
    _quiet("ip", "link", "del", VETH)
    for name in [namespace] if namespace else _namespaces():
        _quiet("ip", "netns", "del", name)
    for path in (EXEC_ROOT, DATA_ROOT):
        _quiet("umount", "-R", str(path))
        shutil.rmtree(path, ignore_errors=True)
    PIDFILE.unlink(missing_ok=True)


def _namespaces() -> list[str]:
    listing = _run("ip", "netns", "list", check=False).stdout.decode()
    return [line.split()[0] for line in listing.splitlines() if line.startswith("smoke-remote-")]


def _wait_for(host: str, log: Path, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _run("docker", "-H", host, "info", check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the second engine did not answer within {within:g}s:\n{log.read_text()}")


@contextlib.contextmanager
def second_engine(images: list[str], workdir: Path) -> Iterator[RemoteEngine]:
    namespace = f"smoke-remote-{uuid.uuid4().hex[:6]}"
    _clean(None)
    log = workdir / "dockerd-remote.log"
    try:
        _run("ip", "netns", "add", namespace)
        _run("ip", "link", "add", VETH, "type", "veth", "peer", "name", PEER)
        _run("ip", "link", "set", PEER, "netns", namespace)
        _run("ip", "addr", "add", f"{HOST_SIDE}/24", "dev", VETH)
        _run("ip", "link", "set", VETH, "up")
        inside = ("ip", "netns", "exec", namespace)
        _run(*inside, "ip", "addr", "add", f"{ENGINE_SIDE}/24", "dev", PEER)
        _run(*inside, "ip", "link", "set", PEER, "up")
        _run(*inside, "ip", "link", "set", "lo", "up")
        _run(*inside, "ip", "route", "add", "default", "via", HOST_SIDE)
        for rule in _iptables_rules():  # builds inside reach PyPI through the host
            _run(*_rule("-I", rule))
        # nsenter, not `ip netns exec`: that remounts /sys and dockerd then finds no
        # devices cgroup.
        host = f"tcp://{ENGINE_SIDE}:{PORT}"
        with log.open("w") as out:
            subprocess.Popen(
                [
                    "nsenter",
                    f"--net=/var/run/netns/{namespace}",
                    "dockerd",
                    "--data-root",
                    str(DATA_ROOT),
                    "--exec-root",
                    str(EXEC_ROOT),
                    "--pidfile",
                    str(PIDFILE),
                    "-H",
                    f"unix://{SOCKET}",
                    "-H",
                    host,
                    "--bip",
                    "172.31.250.1/24",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for(host, log)
        save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
        loaded = _run("docker", "-H", host, "load", "-q", stdin=save.stdout)
        assert save.wait(timeout=300) == 0, "docker save failed"
        assert loaded.returncode == 0, loaded.stderr.decode()
        yield RemoteEngine(host=host, address=ENGINE_SIDE, log=log)
    finally:
        _clean(namespace)


def base_images() -> list[str]:
    """The compose file's base images on this machine (.env, as .ci/setup wrote it)."""
    values = {"SMOKE_PYTHON_IMAGE": "python:3.12-slim", "SMOKE_DB_IMAGE": "postgres:16-alpine"}
    dotenv = ROOT / ".env"
    if dotenv.is_file():
        for line in dotenv.read_text().splitlines():
            name, _, value = line.partition("=")
            if name in values and value:
                values[name] = value
    for name in values:
        values[name] = os.environ.get(name) or values[name]
    return list(values.values())
