"""The compose stack, driven through python-on-whales only.

Knows the reference topology (service names, container ports, image names), turns
docker and compose failures into the package's exceptions by return code, never by
parsing stderr, keeps compose's stderr as data for the user, and asks the engine
what it knows: where it is, and what state a service's container is in.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from python_on_whales import DockerClient
from python_on_whales.client_config import ClientNotFoundError

from smoke import signals
from smoke.errors import (
    ComposeConfigInvalid,
    ComposeFailed,
    ComposeMissing,
    ComposeTimedOut,
    DockerUnreachable,
    NoStackRunning,
    PortUnavailable,
)
from smoke.stack import declared, ports
from smoke.stack.building import follow_build
from smoke.stack.client import (
    ENGINE_ERRORS,
    client,
    compose_step,
    edge_methods,
    flavour_env,
    stderr_of,
)
from smoke.stack.engine import Engine, locate, unreachable
from smoke.stack.images import PROJECT_LABEL, SERVICE_LABEL, ProjectImages
from smoke.stack.inspected import Inspector
from smoke.stack.state import (
    ContainerTimes,
    Listening,
    Resources,
    ServiceState,
    listening_in,
    named,
)
from smoke.stack.target import Target

WEB, CHAT, DB = "web", "chat", "db"
CONTAINER_PORTS = {WEB: 3000, CHAT: 8000}
# The container `compose port` answers for: a service's first, never a one-off's.
_FIRST_CONTAINER = ("com.docker.compose.container-number=1", "com.docker.compose.oneoff=False")
# Stop timeout for `down`: the services stop in well under a second.
_DOWN_TIMEOUT_SECONDS = 5

Filters = list[tuple[Literal["label"], str]]


@edge_methods
class Stack:
    #: Extra variables compose is given when it starts the stack (how spans travel).
    compose_env: Mapping[str, str]

    def __init__(
        self,
        target: Target,
        *,
        docker: DockerClient | None = None,
        env: Mapping[str, str] | None = None,
        docker_for: Callable[[Mapping[str, str]], DockerClient] | None = None,
        inspector: Inspector | None = None,
    ) -> None:
        """``docker``: the client (default: one for ``target``); ``docker_for``: a
        client whose docker process gets these variables on top (default: one more
        client for ``target``, or ``docker`` itself when given); ``env``: the process's
        environment the stack reads (default: this process's); ``inspector``: what
        reads the engine's objects (default: one through ``docker``)."""
        self.target = target
        self.docker = docker or client(target)
        self.inspector = inspector or Inspector(self.docker)
        self._docker_for = docker_for or (
            (lambda extra: self.docker)
            if docker is not None
            else (lambda extra: client(target, env=extra))
        )
        # A client of the caller's own reads the logs too (a fake has no process).
        self._log_reader = docker or client(target, detached=True)
        self._env = os.environ if env is None else env
        self._config: dict[str, Any] | None = None
        self._local_model: dict[str, Any] | None = None  # with the local stack's tag
        self.images = ProjectImages(self)
        self._engine: Engine | None = None
        self.compose_env = {}

    @property
    def project(self) -> str:
        return self.target.project

    def _project_filter(self, *extra: str) -> Filters:
        return [("label", f"{PROJECT_LABEL}={self.project}"), *(("label", e) for e in extra)]

    # -- environment ---------------------------------------------------------------

    def preflight(self) -> str:
        """Check that an engine answers; return its storage driver. Compose is checked
        by ``config``, which every command needs anyway."""
        try:
            info = self.docker.system.info()
        except ClientNotFoundError:
            raise DockerUnreachable(
                "the docker CLI was not found", hint="install Docker and put `docker` on PATH"
            ) from None
        except ENGINE_ERRORS as exc:
            where, hint = unreachable(self._env)
            raise DockerUnreachable(
                f"the docker engine {where} is unreachable (docker info exited {exc.return_code})",
                hint=hint,
            ) from exc
        return info.driver or "unknown"

    def _require_compose(self) -> None:
        try:
            self.docker.compose.version()
        except ENGINE_ERRORS as exc:
            raise ComposeMissing(
                f"Docker Compose v2 is missing (`docker compose version` exited {exc.return_code})",
                hint="install the compose plugin (e.g. `bash .ci/compose-plugin.sh`)",
            ) from exc

    def engine(self) -> Engine:
        """Where the engine is: DOCKER_HOST, or the current context (asked only when
        one other than the default is in use)."""
        if self._engine is None:
            self._engine = locate(self._env, context_host=self._context_host)
        return self._engine

    def _context_host(self) -> str:
        endpoint = self.docker.context.inspect(None).endpoints.get("docker")
        return str(endpoint.host) if endpoint is not None and endpoint.host else ""

    def config(self) -> dict[str, Any]:
        """The resolved compose model; an invalid file, or no Compose v2 at all, is an
        environment problem. (Compose is asked for its version only when the model
        cannot be read, to tell the two apart by return code.)"""
        if self._config is None:
            self._config = self._read_model()
        return self._config

    def model(self, *, install_local_stack: bool = False) -> dict[str, Any]:
        """The compose model as a run of that chat flavour sees it (its image tag)."""
        if not install_local_stack:
            return self.config()
        if self._local_model is None:
            self._local_model = self._read_model(flavour_env(install_local_stack=True))
        return self._local_model

    def _compose(self, env: Mapping[str, str]) -> Any:
        """Compose, its process given ``env`` on top of this one's."""
        return (self._docker_for(env) if env else self.docker).compose

    def _read_model(self, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        try:
            model: dict[str, Any] = self._compose(env or {}).config(return_json=True)
        except ENGINE_ERRORS as exc:
            self._require_compose()
            first_line = (stderr_of(exc).splitlines() or ["no details"])[0]
            raise ComposeConfigInvalid(
                f"invalid compose configuration: {first_line}",
                hint="fix the compose file, or check `docker compose config`",
                stderr=stderr_of(exc),
            ) from exc
        return model

    def secrets(self) -> tuple[str, ...]:
        """The values to mask (``model.secrets``)."""
        return declared.secrets(self.config(), self._env, self.target.secret_names)

    def require_services(self, needed: tuple[str, ...]) -> None:
        """Before anything starts: the compose model has each service a command needs."""
        declared.require_services(self.config(), needed)

    def check_ports(self, *, reachable_only: bool = False) -> None:
        """Before `up`: the ports must be reachable from here and free on the engine's
        host (see ``smoke.stack.ports``). ``reachable_only``: a kept stack being
        reused holds its ports itself."""
        fixed = list(declared.published(self.config()))
        ports.check(self.engine(), fixed, reachable_only=reachable_only)

    # -- lifecycle ------------------------------------------------------------------

    def build(
        self,
        *,
        install_local_stack: bool,
        services: tuple[str, ...] = (),
        say: Callable[[str], None] | None = None,
    ) -> None:
        """Build every service the compose file builds (or those of ``services``),
        saying each build step it starts to ``say``. The images a build replaces are
        the caller's to remove (``images.remove_replaced``)."""
        built = self.images.built(install_local_stack=install_local_stack)
        wanted = [name for name in built if not services or name in services]
        flavour = flavour_env(install_local_stack=install_local_stack)
        with compose_step("build"):
            if say is None:
                self._compose(flavour).build(services=wanted, quiet=True)
            else:  # plain progress by compose's own variable: `build --progress` is deprecated
                plain = self._compose({**flavour, "COMPOSE_PROGRESS": "plain"})
                follow_build(plain.build(wanted, stream_logs=True), say)

    def up(
        self,
        *,
        build: bool,
        install_local_stack: bool,
        services: tuple[str, ...] = (),
        timeout: float | None = None,
    ) -> None:
        """Start the stack, or only ``services`` (and what they depend on). The build
        comes first and takes what it takes; starting is bounded by ``timeout``, as
        compose waits for dependencies' health with no limit of its own."""
        if build:
            self.build(install_local_stack=install_local_stack, services=services)
        try:
            with (
                signals.deadline(timeout),
                compose_step("compose up"),
            ):
                self._compose(
                    {**flavour_env(install_local_stack=install_local_stack), **self.compose_env}
                ).up(
                    list(services) or None,
                    detach=True,
                    no_build=True,
                    quiet=True,
                    remove_orphans=True,
                )
        except TimeoutError:
            raise ComposeTimedOut(
                f"compose up did not finish within {timeout:g}s (--timeout)" + self.waiting_on(),
                hint="compose waits for the health of the services others depend on: "
                "see what the engine says of them above, and their log lines below",
            ) from None
        except ComposeFailed as failure:
            raise self._explained(failure) from failure.__cause__

    def waiting_on(self) -> str:
        """What the engine says of the services that are not up and healthy: the
        ones compose may be waiting for, with their healthcheck's last words."""
        said = []
        for service in self.config().get("services", {}):
            state = self.state(service)
            if state is None or (state.status, state.health) in (
                ("running", "healthy"),
                ("running", None),
            ):
                continue
            said.append(f"{service} is {state.describe()}")
        return f"; the engine says {'; '.join(said)}" if said else ""

    def _explained(self, failure: ComposeFailed) -> ComposeFailed:
        """compose's exit code says nothing of why: ask the engine. A base image that
        is not there, and compose could not pull, is named; so is a service that is
        not up and healthy."""
        missing = self.images.missing_bases(self.config())
        if missing:
            failure.hint = (
                f"compose could not get {', '.join(missing)}: set SMOKE_PYTHON_IMAGE / "
                "SMOKE_DB_IMAGE to images this engine has, or run `bash .ci/setup` to build "
                "local ones"
            )
        else:
            failure.args = (str(failure) + self.waiting_on(),)
        return failure

    def url(self, service: str) -> str:
        """The service's URL as this machine reaches it: its first container's published
        port (what `compose port` answers) at the engine's location. One not running
        (restarting, say) has none yet: ``PortUnavailable``, which the waits retry."""
        container = self._first(service, all=False)
        port = f"{CONTAINER_PORTS[service]}/tcp"
        if container is None:
            raise PortUnavailable(
                f"{service} has no published port yet (no running container; is it restarting?)"
            )
        if port not in (container.host_config.port_bindings or {}):
            raise PortUnavailable(f"{service} has no published port in project {self.project}")
        bindings = (container.network_settings.ports or {}).get(port) or []
        published = [binding for binding in bindings if binding.get("HostPort")]
        if not published:  # bound once it runs again
            raise PortUnavailable(
                f"{service} has no published port yet (its container is "
                f"{container.state.status}; is it restarting?)"
            )
        address = self.engine().probe_host(published[0].get("HostIp"))  # None: every one
        if ":" in address:
            address = f"[{address}]"
        return f"http://{address}:{published[0]['HostPort']}"

    def _first_id(self, service: str, *, all: bool) -> str | None:
        """The id of the service's first container (no inspect); None while it has none."""
        listed = self.docker.container.list(
            all=all, filters=self._project_filter(f"{SERVICE_LABEL}={service}", *_FIRST_CONTAINER)
        )
        return str(listed[0].id) if listed else None

    def _first(self, service: str, *, all: bool = True) -> Any:
        """The service's first container, read once; None while it has none."""
        container = self._first_id(service, all=all)
        found = self.inspector.containers([container] if container else [])
        return found[0] if found else None

    def state(self, service: str) -> ServiceState | None:
        """The engine's view of the service's container, or None if it has none."""
        container = self._first(service)
        return ServiceState.of(container) if container else None

    def _by_service(self) -> list[tuple[str, Any]]:
        """Each container of the project (running or not), with its service: a listing
        and one inspect for all."""
        listed = self.docker.container.list(all=True, filters=self._project_filter())
        found = self.inspector.containers([c.id for c in listed])
        return [
            (str(((c.config.labels if c.config else None) or {}).get(SERVICE_LABEL, c.name)), c)
            for c in found
        ]

    def states(self) -> dict[str, ServiceState]:
        """The engine's view of every service of the project, in one listing."""
        return {service: ServiceState.of(c) for service, c in sorted(self._by_service())}

    def times(self) -> list[ContainerTimes]:
        """When each container was created, started and got healthy, for the timeline."""
        return sorted(
            (ContainerTimes.of(service, c) for service, c in self._by_service()),
            key=lambda t: (t.created or 0, t.service),
        )

    def listening(self, service: str) -> Listening | None:
        """Where something listens on the service's port inside its container, read
        from the kernel's tables there (`/proc/net/tcp*`, which every Linux container
        has); None when that cannot be read (no `cat` in the image, say)."""
        container = self._first_id(service, all=False)
        if container is None:
            return None
        return listening_in(self.docker, container, CONTAINER_PORTS[service])

    def logs(self, services: tuple[str, ...] = (), *, tail: int | None = None) -> str:
        text: str = self._log_reader.compose.logs(
            services=list(services), timestamps=True, tail=None if tail is None else str(tail)
        )
        return text

    def containers(self) -> tuple[str, ...]:
        """Ids of the project's containers, running or not."""
        found = self.docker.container.list(all=True, filters=self._project_filter())
        return tuple(c.id for c in found)

    def resources(self, *, names: bool = True) -> Resources:
        """What the project has in the engine, listed side by side. Names cost an
        inspect per object, so checks that only need to know what is left ask for ids."""
        label = self._project_filter()
        with ThreadPoolExecutor(max_workers=3) as pool:
            containers = pool.submit(self.docker.container.list, all=True, filters=label)
            networks = pool.submit(self.docker.network.list, filters=label)
            volumes = pool.submit(self.docker.volume.list, filters=label)
        return Resources(
            containers=named(containers.result(), names),
            networks=named(networks.result(), names),
            volumes=tuple(sorted(v.name for v in volumes.result())),  # a volume's id is its name
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

    def remove(self, found: Resources) -> None:
        """Remove what ``resources(names=False)`` found: containers at once (their logs
        are saved by then; a throwaway stack needs no graceful stop), then networks and
        volumes. Faster than `down`, which stops each container and waits for it."""
        if found.containers:
            self.docker.container.remove(list(found.containers), force=True, volumes=True)
        if found.networks:
            self.docker.network.remove(list(found.networks))
        if found.volumes:
            self.docker.volume.remove(list(found.volumes))
