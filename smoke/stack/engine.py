"""Where the Docker engine is, and so where the stack's published ports are.

A local engine (``unix://``, ``npipe://``) publishes ports on this machine; a remote
one (``tcp://``, ``ssh://``) publishes them on its own host, which the smoke must
probe instead of 127.0.0.1. The engine comes from ``DOCKER_HOST``, else from the
current docker context; ``SMOKE_HOST`` overrides the address to probe.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REMOTE_SCHEMES = frozenset({"tcp", "ssh", "http", "https"})
DEFAULT_HOST = "unix:///var/run/docker.sock"
_ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True)
class Engine:
    """The engine a run talks to, and the address its published ports answer on."""

    #: As docker names it: unix:///var/run/docker.sock, tcp://10.0.0.2:2375, ssh://box
    host: str
    remote: bool
    #: The engine's host as this machine reaches it (None for a local engine).
    remote_address: str | None = None
    #: SMOKE_HOST: the address to probe, whatever compose says.
    probe_override: str | None = None

    @property
    def scheme(self) -> str:
        return urlsplit(self.host).scheme

    def describe(self) -> str:
        return f"{'remote' if self.remote else 'local'} engine {self.host}"

    def probe_host(self, published_ip: str | None) -> str:
        """Where to reach a port that compose reports published on ``published_ip``."""
        if self.probe_override:
            return self.probe_override
        ip = (published_ip or "").strip("[]")
        if self.remote:
            # Published on "all interfaces" or a loopback of the engine's host: reach it
            # at the engine's own address; a specific address is taken as given.
            if ip in _ANY_ADDRESS or is_loopback(ip):
                return self.remote_address or ip
            return ip
        return "127.0.0.1" if ip in _ANY_ADDRESS else ip

    def can_check_ports(self) -> bool:
        """Whether a taken port can be told from here: locally by binding, on a tcp
        engine by connecting to it; not through ssh (the host may be firewalled)."""
        return not self.remote or self.scheme in ("tcp", "http", "https")


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return address == "localhost"


def _from_host(host: str, probe_override: str | None) -> Engine:
    parts = urlsplit(host)
    remote = parts.scheme in REMOTE_SCHEMES
    return Engine(
        host=host,
        remote=remote,
        remote_address=parts.hostname if remote else None,
        probe_override=probe_override,
    )


def _current_context(env: Mapping[str, str]) -> str | None:
    """The docker CLI's current context name, unless it is the default one."""
    name = env.get("DOCKER_CONTEXT")
    if not name:
        config = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
        try:
            name = json.loads(config.read_text("utf-8")).get("currentContext")
        except (OSError, ValueError, AttributeError):
            name = None
    return None if not name or name == "default" else str(name)


def unreachable(env: Mapping[str, str]) -> tuple[str, str]:
    """(which engine was tried and whence, what to do) for an engine that does not
    answer: the host from DOCKER_HOST, the current context, or the default socket."""
    host = env.get("DOCKER_HOST")
    if host:
        return (
            f"at {host} (DOCKER_HOST)",
            "start the engine there, or point DOCKER_HOST at one that runs "
            "(unset it for this machine's own)",
        )
    context = _current_context(env)
    if context:
        whence = "DOCKER_CONTEXT" if env.get("DOCKER_CONTEXT") else "the docker CLI's config"
        return (
            f"of docker context {context} ({whence})",
            "start that context's engine, or `docker context use default`",
        )
    return (
        f"at {DEFAULT_HOST} (the default: no DOCKER_HOST or context is set)",
        "start the engine (e.g. `dockerd &` or Docker Desktop), or set DOCKER_HOST "
        "to one that runs",
    )


def locate(
    env: Mapping[str, str] | None = None,
    *,
    context_host: Callable[[], str] | None = None,
) -> Engine:
    """The engine from DOCKER_HOST, else the current docker context.

    ``context_host`` asks docker for the current context's endpoint; it is called
    only when a non-default context is in use, so the usual case costs no docker call.
    """
    env = os.environ if env is None else env
    override = env.get("SMOKE_HOST") or None
    host = env.get("DOCKER_HOST")
    if not host and context_host is not None and _current_context(env):
        host = context_host()
    return _from_host(host or DEFAULT_HOST, override)
