"""The compose stack, driven through python-on-whales only.

Knows the reference topology (service names and container ports), turns docker and
compose failures into the package's exceptions by return code, never by parsing
stderr, and keeps compose's stderr as data for the user.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from python_on_whales import DockerClient
from python_on_whales.client_config import ClientNotFoundError
from python_on_whales.exceptions import DockerException

from .errors import (
    ComposeConfigInvalid,
    ComposeFailed,
    ComposeMissing,
    DockerUnreachable,
    NoStackRunning,
    PortInUse,
    PortUnavailable,
)
from .options import Target

WEB, CHAT, DB = "web", "chat", "db"
SERVICES = (DB, CHAT, WEB)
CONTAINER_PORTS = {WEB: 3000, CHAT: 8000}
IMAGES = {CHAT: "contoso-chat", WEB: "contoso-web"}
PROJECT_LABEL = "com.docker.compose.project"
# Env values under these names are secrets, masked wherever output is written.
_SECRET_NAME_PARTS = ("PASSWORD", "SECRET", "TOKEN")
# Stop timeout for `down`: the services stop in well under a second.
_DOWN_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Resources:
    """What exists of a compose project in the engine."""

    containers: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.volumes)

    def describe(self) -> str:
        parts = [
            f"{len(items)} {kind}{'' if len(items) == 1 else 's'} ({', '.join(items)})"
            for kind, items in (
                ("container", self.containers),
                ("network", self.networks),
                ("volume", self.volumes),
            )
            if items
        ]
        return ", ".join(parts) if parts else "nothing"


def _stderr(exc: DockerException) -> str:
    return (exc.stderr or exc.stdout or "").strip()


class Stack:
    def __init__(self, target: Target, *, docker: DockerClient | None = None) -> None:
        self.target = target
        self.docker = docker or DockerClient(
            compose_files=list(target.compose_files),
            compose_project_name=target.project,
        )
        self._config: dict[str, Any] | None = None

    @property
    def project(self) -> str:
        return self.target.project

    # -- environment ---------------------------------------------------------------

    def preflight(self) -> str:
        """Check that an engine answers and Compose v2 is there; return the storage driver."""
        try:
            info = self.docker.system.info()
        except ClientNotFoundError:
            raise DockerUnreachable(
                "the docker CLI was not found", hint="install Docker and put `docker` on PATH"
            ) from None
        except DockerException as exc:
            raise DockerUnreachable(
                f"the docker engine is unreachable (docker info exited {exc.return_code})",
                hint="start the engine (e.g. `dockerd &` or Docker Desktop) or set DOCKER_HOST",
            ) from exc
        try:
            self.docker.compose.version()
        except DockerException as exc:
            raise ComposeMissing(
                f"Docker Compose v2 is missing (`docker compose version` exited {exc.return_code})",
                hint="install the compose plugin (e.g. `bash .ci/compose-plugin.sh`)",
            ) from exc
        return info.driver or "unknown"

    def config(self) -> dict[str, Any]:
        """The resolved compose model; an invalid file is an environment problem."""
        if self._config is None:
            try:
                self._config = self.docker.compose.config(return_json=True)
            except DockerException as exc:
                first_line = (_stderr(exc).splitlines() or ["no details"])[0]
                raise ComposeConfigInvalid(
                    f"invalid compose configuration: {first_line}",
                    hint="fix the compose file, or check `docker compose config`",
                    stderr=_stderr(exc),
                ) from exc
        return self._config

    def secrets(self) -> tuple[str, ...]:
        values = {
            str(value)
            for service in self.config().get("services", {}).values()
            for name, value in (service.get("environment") or {}).items()
            if value and any(part in name.upper() for part in _SECRET_NAME_PARTS)
        }
        return tuple(sorted(values, key=len, reverse=True))

    def check_ports_free(self) -> None:
        """Fail before `up` if a fixed host port is taken, rather than halfway through it."""
        for name, service in self.config().get("services", {}).items():
            for mapping in service.get("ports") or []:
                published = str(mapping.get("published") or "0")
                if published.isdigit() and int(published) != 0:
                    _ensure_free(name, mapping.get("host_ip") or "0.0.0.0", int(published))

    # -- lifecycle ------------------------------------------------------------------

    def build(self, *, install_local_stack: bool) -> None:
        with _compose_step("build", install_local_stack=install_local_stack):
            self.docker.compose.build(services=[CHAT, WEB], quiet=True)

    def up(self, *, build: bool, install_local_stack: bool) -> None:
        with _compose_step("compose up", install_local_stack=install_local_stack):
            self.docker.compose.up(
                detach=True, build=build, no_build=not build, quiet=True, remove_orphans=True
            )

    def url(self, service: str) -> str:
        """The service's URL on the host, from `compose port`, so ephemeral ports work.

        A container that is not running (e.g. restarting after a crash) has no port
        yet: that is ``PortUnavailable``, which the waits retry until their deadline.
        """
        try:
            host, port = self.docker.compose.port(service, CONTAINER_PORTS[service])
        except DockerException as exc:
            raise PortUnavailable(
                f"{service} has no published port yet (`compose port` exited "
                f"{exc.return_code}; is it restarting?)"
            ) from None
        if port is None:
            raise PortUnavailable(f"{service} has no published port in project {self.project}")
        return f"http://{host or '127.0.0.1'}:{port}"

    def logs(self, services: tuple[str, ...] = (), *, tail: int | None = None) -> str:
        text: str = self.docker.compose.logs(
            services=list(services), timestamps=True, tail=None if tail is None else str(tail)
        )
        return text

    def resources(self, *, names: bool = True) -> Resources:
        """What the project has in the engine. Names cost an inspect per object, so
        checks that only need to know whether anything is left ask for ids."""
        label: list[tuple[Literal["label"], str]] = [("label", f"{PROJECT_LABEL}={self.project}")]
        containers = self.docker.container.list(all=True, filters=label)
        networks = self.docker.network.list(filters=label)
        volumes = self.docker.volume.list(filters=label)
        return Resources(
            containers=tuple(sorted(c.name if names else c.id for c in containers)),
            networks=tuple(sorted(n.name if names else n.id for n in networks)),
            volumes=tuple(sorted(v.name for v in volumes)),  # a volume's id is its name
        )

    def require_running(self) -> Resources:
        found = self.resources()
        if not found.containers:
            raise NoStackRunning(
                f"no stack is running for project {self.project}",
                hint="start one with `nox -s smoke_lite -- --keep-stack`",
            )
        return found

    def down(self) -> None:
        self.docker.compose.down(
            volumes=True, remove_orphans=True, timeout=_DOWN_TIMEOUT_SECONDS, quiet=True
        )

    def image_size(self, service: str) -> int | None:
        try:
            return int(self.docker.image.inspect(IMAGES[service]).size)
        except DockerException:
            return None


def _ensure_free(service: str, host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like a server would: TIME_WAIT leftovers do not count, a listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(
                f"port {host}:{port} for {service} is already in use",
                hint=f"free it, or set SMOKE_{service.upper()}_PORT (0 picks a free port)",
                port=port,
            ) from None


@contextlib.contextmanager
def _compose_step(step: str, *, install_local_stack: bool) -> Iterator[None]:
    """Run a building compose command: the chat flavour goes to compose through the
    env, and a failure becomes ``ComposeFailed`` with compose's stderr kept."""
    with _env(CHAT_INSTALL_LOCAL_STACK="1" if install_local_stack else "0"):
        try:
            yield
        except DockerException as exc:
            raise ComposeFailed(
                f"{step} failed (exit {exc.return_code})",
                return_code=exc.return_code,
                stderr=_stderr(exc),
            ) from exc


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    """Set env vars for the compose child process only while the block runs."""
    saved: Mapping[str, str | None] = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
