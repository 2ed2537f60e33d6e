"""A second Docker engine that is remote in the sense that matters: its published
ports are not this machine's. It runs in a network namespace of its own, reached at
an address of 10.231.N.2 over a veth pair; it builds with pip through the host
(masqueraded), and gets the images it runs by `docker save | docker load`. Root only;
every name, address and path is the run's own, and torn down after by its own PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.conftest import ROOT

PORT = 2375
TOOLS = ("ip", "nsenter", "iptables", "dockerd")


@dataclass(frozen=True)
class Names:
    """Everything one run of the fixture creates on the host, named for that run only:
    two checkouts' suites (or a developer's own second engine) never meet."""

    run: str  # 6 hex digits

    @property
    def namespace(self) -> str:
        return f"smoke-remote-{self.run}"

    @property
    def veth(self) -> str:  # interface names fit in 15 characters
        return f"vsh-{self.run}"

    @property
    def peer(self) -> str:
        return f"vsn-{self.run}"

    @property
    def subnet(self) -> str:
        """10.231.N, N from the run's id (a /24 of its own)."""
        return f"10.231.{int(self.run, 16) % 250 + 2}"

    @property
    def host_side(self) -> str:
        return f"{self.subnet}.1"

    @property
    def engine_side(self) -> str:
        return f"{self.subnet}.2"

    @property
    def data_root(self) -> Path:
        return Path(f"/var/lib/docker-remote-{self.run}")

    @property
    def exec_root(self) -> Path:
        return Path(f"/var/run/docker-remote-{self.run}")

    @property
    def socket(self) -> str:
        return f"/var/run/docker-remote-{self.run}.sock"

    @property
    def bridge(self) -> str:
        """The inner engine's bridge, inside the namespace only."""
        return f"172.31.{int(self.run, 16) % 250 + 2}.1/24"


def fresh_names() -> Names:
    """Names no interface of this host uses yet."""
    taken = _run("ip", "-o", "addr", check=False).stdout.decode()
    for _ in range(20):
        names = Names(uuid.uuid4().hex[:6])
        if f" {names.subnet}." not in taken and names.veth not in taken:
            return names
    raise RuntimeError("no free 10.231.N.0/24 for a second engine")


@dataclass(frozen=True)
class RemoteEngine:
    host: str  # tcp://10.231.N.2:2375
    address: str  # 10.231.N.2
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


def _iptables_rules(names: Names) -> list[list[str]]:
    subnet, veth = f"{names.subnet}.0/24", names.veth
    return [
        ["-t", "nat", "POSTROUTING", "-s", subnet, "!", "-o", veth, "-j", "MASQUERADE"],
        ["DOCKER-USER", "-i", veth, "-j", "ACCEPT"],
        ["DOCKER-USER", "-o", veth, "-j", "ACCEPT"],
    ]


def _rule(action: str, rule: list[str]) -> list[str]:
    if rule[0] == "-t":
        return ["iptables", rule[0], rule[1], action, *rule[2:]]
    return ["iptables", action, *rule]


def _stop_engine(engine: subprocess.Popen[bytes] | None) -> None:
    """Stop the dockerd this run started, by its own PID (nsenter execs dockerd)."""
    if engine is None or engine.poll() is not None:
        return
    engine.terminate()
    try:
        engine.wait(timeout=20)
    except subprocess.TimeoutExpired:
        engine.kill()
        engine.wait(timeout=10)


def _clean(names: Names, engine: subprocess.Popen[bytes] | None) -> None:
    """Undo what this run made, and nothing else."""
    _stop_engine(engine)
    for rule in _iptables_rules(names):
        _quiet(*_rule("-D", rule))
    _quiet("ip", "link", "del", names.veth)
    _quiet("ip", "netns", "del", names.namespace)
    for path in (names.exec_root, names.data_root):
        _quiet("umount", "-R", str(path))
        shutil.rmtree(path, ignore_errors=True)
    Path(names.socket).unlink(missing_ok=True)


def _wait_for(host: str, log: Path, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _run("docker", "-H", host, "info", check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the second engine did not answer within {within:g}s:\n{log.read_text()}")


@contextlib.contextmanager
def second_engine(images: list[str], workdir: Path) -> Iterator[RemoteEngine]:
    names = fresh_names()
    log = workdir / "dockerd-remote.log"
    engine: subprocess.Popen[bytes] | None = None
    try:
        _run("ip", "netns", "add", names.namespace)
        _run("ip", "link", "add", names.veth, "type", "veth", "peer", "name", names.peer)
        _run("ip", "link", "set", names.peer, "netns", names.namespace)
        _run("ip", "addr", "add", f"{names.host_side}/24", "dev", names.veth)
        _run("ip", "link", "set", names.veth, "up")
        inside = ("ip", "netns", "exec", names.namespace)
        _run(*inside, "ip", "addr", "add", f"{names.engine_side}/24", "dev", names.peer)
        _run(*inside, "ip", "link", "set", names.peer, "up")
        _run(*inside, "ip", "link", "set", "lo", "up")
        _run(*inside, "ip", "route", "add", "default", "via", names.host_side)
        for rule in _iptables_rules(names):  # builds inside reach PyPI through the host
            _run(*_rule("-I", rule))
        # nsenter, not `ip netns exec`: that remounts /sys and dockerd then finds no
        # devices cgroup.
        host = f"tcp://{names.engine_side}:{PORT}"
        with log.open("wb") as out:
            engine = subprocess.Popen(
                [
                    "nsenter",
                    f"--net=/var/run/netns/{names.namespace}",
                    "dockerd",
                    "--data-root",
                    str(names.data_root),
                    "--exec-root",
                    str(names.exec_root),
                    "--pidfile",
                    f"{names.exec_root}.pid",
                    "-H",
                    f"unix://{names.socket}",
                    "-H",
                    host,
                    "--bip",
                    names.bridge,
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
        yield RemoteEngine(host=host, address=names.engine_side, log=log)
    finally:
        _clean(names, engine)
        Path(f"{names.exec_root}.pid").unlink(missing_ok=True)


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
