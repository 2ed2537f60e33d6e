"""A fake of the python-on-whales surface the smoke uses, and a fake stack over HTTP.

It behaves as python-on-whales 0.81 does where the smoke can tell: with the engine
down every call fails; a stopped service's container publishes no port; `logs`
honours services, tail and timestamps; a missing image fails `image.inspect`, and one
inspect of several leaves the missing out. It records every call in order, so tests
can assert what happened and when (logs captured before `down`, `down` after a
failure, nothing after an error).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from smoke import clock
from smoke.options import RunOptions, StackSettings
from smoke.outcome import Budgets
from smoke.stack.compose import Stack
from smoke.stack.inspected import Inspector
from smoke.stack.target import Target

PASSWORD = "s3cret-pass"  # a fake secret the tests look for
TARGET = Target("p", (Path("docker-compose.yml"),))


def own_project() -> str:
    """A project name of the test's own. A run on the fake engine still starts a real
    span receiver, on a port derived from the project's name: a test that needs its
    spans takes its own name, so another test process (an xdist worker, a mutant's
    run) cannot hold that port."""
    return f"p-{uuid.uuid4().hex[:8]}"


#: How long each fake service takes to answer, on the fake clock.
ANSWER_SECONDS = 0.001


def run_options(**overrides: Any) -> RunOptions:
    """The options of `run --profile lite` on project p, with ``overrides``. No
    reaper: it is a process of its own (tests/unit/test_reaper.py)."""
    settings: dict[str, Any] = {
        "target": TARGET,
        "keep": "never",
        "install_local_stack": False,
        "build": True,
        "timeout": 0.15,
        "log_file": Path("e2e-compose.log"),
        "reaper": False,
    }
    values: dict[str, Any] = {"profile": "lite", "web_url": None, "chat_url": None}
    for name, value in overrides.items():
        (settings if name in STACK_FIELDS else values)[name] = value
    budgets = values.get("budgets")
    if budgets is not None:
        settings.setdefault("max_run_seconds", budgets.max_duration_seconds)
    else:
        settings.setdefault("max_run_seconds", Budgets().max_duration_seconds)
    settings["uses_compose"] = values["web_url"] is None
    return RunOptions(StackSettings(**settings), **values)


#: The options a test may give that are the stack's settings.
STACK_FIELDS = frozenset(f.name for f in dataclasses.fields(StackSettings))


SERVICES = ("db", "chat", "web")
PORTS = {"web": 3000, "chat": 8000}


def docker_error(command: str, return_code: int = 1, stderr: str = "boom") -> DockerException:
    return DockerException(["docker", *command.split()], return_code, b"", stderr.encode())


@dataclass
class FakeState:
    """What the engine says of one service's container."""

    status: str = "running"
    exit_code: int | None = 0
    restarts: int = 0
    health: str | None = None
    restart_policy: str = ""
    oom_killed: bool = False
    memory: int = 0
    started_at: str = "2026-11-25T12:00:00Z"
    health_output: str = ""
    finished_at: str = "0001-01-01T00:00:00Z"  # the engine's "never"
    #: Whether its service listens inside ("loopback": only on 127.0.0.1); None:
    #: /proc/net cannot be read there.
    listening: bool | str | None = True
    #: Which container of the service this is (a recreated one is another), compose's
    #: hash of the service's configuration, and the image it runs.
    generation: int = 1
    config_hash: str = "hash-1"
    image: str = "sha256:image-1"
    #: Its environment, as `NAME=value` (where its spans go, among others).
    env: tuple[str, ...] = ()
    #: When the engine created it, as python-on-whales reads it; None: not said.
    created: datetime | None = None


def _labels(filters: Iterable[tuple[str, str]] | None) -> dict[str, str]:
    found = {}
    for kind, value in filters or ():
        if kind == "label":
            key, _, wanted = value.partition("=")
            found[key] = wanted
    return found


@dataclass(frozen=True)
class FakeImage:
    size: int
    project: str
    service: str


class Listed:
    """A listed container: as in python-on-whales, its id is free and every other
    field read costs an inspect."""

    def __init__(
        self, calls: list[str], container: str, inspect: Callable[[], SimpleNamespace]
    ) -> None:
        self._calls, self.id, self._inspect = calls, container, inspect

    def __getattr__(self, attr: str) -> Any:
        self._calls.append("container inspect")
        return getattr(self._inspect(), attr)


class Inspected(SimpleNamespace):
    """A listed object: as in python-on-whales, reading its name costs an inspect."""

    def __init__(self, calls: list[str], inspect: str, **fields: Any) -> None:
        super().__init__(**fields)
        object.__setattr__(self, "_calls", calls)
        object.__setattr__(self, "_inspect", inspect)

    def __getattribute__(self, attr: str) -> Any:
        if attr == "name":
            object.__getattribute__(self, "_calls").append(
                object.__getattribute__(self, "_inspect")
            )
        return object.__getattribute__(self, attr)


@dataclass
class FakeDocker:
    calls: list[str] = field(default_factory=list)
    #: Each call with its arguments, as (name, args, kwargs), for the boundary's contract.
    asked: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    running: bool = False
    engine_up: bool = True
    fail: dict[str, DockerException] = field(default_factory=dict)
    #: What each service printed, as compose logs print it with --timestamps.
    service_logs: dict[str, list[str]] = field(
        default_factory=lambda: {
            "db": [f"2026-11-25T12:00:01.000000000Z started with password {PASSWORD}"],
            "chat": ["2026-11-25T12:00:02.000000000Z ready"],
            "web": ["2026-11-25T12:00:03.000000000Z ready"],
        }
    )
    #: Tagged images by name: their size and compose's (project, service) labels.
    images: dict[str, FakeImage] = field(
        default_factory=lambda: {
            "p-chat:lite": FakeImage(123_000_000, "p", "chat"),
            "p-chat:local": FakeImage(345_000_000, "p", "chat"),
            "p-web:latest": FakeImage(111_000_000, "p", "web"),
        }
    )
    #: Untagged images left by earlier builds: id -> the project that built it.
    dangling: dict[str, str] = field(default_factory=dict)
    #: Dangling images a container still runs: their removal fails.
    in_use: set[str] = field(default_factory=set)
    #: Images the engine has besides the project's own (base images).
    base_images: set[str] = field(default_factory=lambda: {"python:3.12-slim"})
    #: Each service's container as the engine reports it.
    states: dict[str, FakeState] = field(default_factory=dict)
    #: How many removals (direct or `down`) leave a container behind, as when a killed
    #: `up` is still creating one.
    stubborn_downs: int = 0
    #: How many inspects of chat show no published port, as while its container restarts.
    port_failures: int = 0
    #: Host ports by service; change one to act out a restart on a new ephemeral port.
    host_ports: dict[str, int] = field(default_factory=lambda: dict(PORTS))
    published: dict[str, str] = field(default_factory=lambda: {"web": "0", "chat": "0"})
    host_ip: str = "127.0.0.1"
    context_host: str = "unix:///var/run/docker.sock"
    volumes: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The one compose project whose stack the engine holds.
    project: str = TARGET.project
    #: What a streamed `compose build --progress plain` prints.
    build_output: list[str] = field(
        default_factory=lambda: [
            "#1 [web internal] load build definition from Dockerfile",
            "#9 [web stage-1 2/7] RUN --mount=type=secret,id=build_ca uv pip install",
            "#9 DONE 0.7s",
        ]
    )

    #: The variables the running call's docker process got on top of the smoke's
    #: (a client of ``with_env``), as compose would interpolate the file with them.
    env: dict[str, str] = field(default_factory=dict)

    def with_env(self, env: Mapping[str, str]) -> Any:
        """This engine through a client whose docker process gets ``env`` on top."""
        return _WithEnv(self, dict(env))

    def __post_init__(self) -> None:
        self.system = SimpleNamespace(info=self._call("info", self._info))
        self.compose = SimpleNamespace(
            version=self._call("compose version", lambda: "2.40.3"),
            config=self._call("compose config", self._config),
            build=self._call("compose build", self._build),
            up=self._call("compose up", self._up),
            logs=self._call("compose logs", self._logs),
            down=self._call("compose down", self._down),
        )
        self.container = SimpleNamespace(
            list=self._call("container list", self._containers),
            remove=self._call("container remove", self._remove),
            execute=self._call("container execute", self._execute),
            logs=self._call("container logs", self._container_logs),
        )
        self.network = SimpleNamespace(
            list=self._call("network list", self._networks),
            remove=self._call("network remove", lambda names: None),
        )
        self.volume = SimpleNamespace(
            list=self._call("volume list", self._volume_list),
            create=self._call("volume create", self._volume_create),
            remove=self._call("volume remove", self._volume_remove),
        )
        self.image = SimpleNamespace(
            inspect=self._call("image inspect", self._image_inspect),
            list=self._call("image list", self._image_list),
            remove=self._call("image remove", self._image_remove),
            exists=self._call("image exists", lambda name: name in self.base_images),
        )
        self.context = SimpleNamespace(inspect=self._call("context inspect", self._context))
        #: What ``smoke.stack.inspected.Inspector`` reads: several objects in one call.
        #: Nothing to read is no call, as there.
        self.inspector = SimpleNamespace(
            containers=self._many(self._call("container inspect", self._inspect_containers)),
            images=self._many(self._call("image inspect", self._inspect_images)),
        )

    @staticmethod
    def _many(call: Callable[[list[str]], list[Any]]) -> Callable[[list[str]], list[Any]]:
        return lambda names: call(names) if names else []

    def _call(
        self, name: str, result: Callable[..., Any], *, detail: bool = False
    ) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(f"{name} {args[0]}" if detail and args else name)
            self.asked.append((name, args, kwargs))
            if not self.engine_up and name != "compose version":
                raise docker_error(name, 1, "Cannot connect to the Docker daemon")
            if name in self.fail:
                raise self.fail[name]
            return result(*args, **kwargs)

        return call

    def _info(self) -> Any:
        return SimpleNamespace(driver="overlay2")

    def _config(self, return_json: bool = False, **kwargs: Any) -> Any:
        if not return_json:  # python-on-whales's own model, which the smoke does not read
            return SimpleNamespace(services={})
        return {"services": dict(sorted(self._services().items()))}  # as compose sorts them

    def fixed_model(self) -> dict[str, Any]:
        """The compose model, fixed from now on, for a test to edit in place."""
        model: dict[str, Any] = self._config(return_json=True)
        self.compose.config = self._call("compose config", lambda **kwargs: model)
        return model

    def _services(self) -> dict[str, Any]:
        built = {
            name: {
                "build": {"context": name},
                "image": self._image_name(name),
                "ports": [
                    {"host_ip": self.host_ip, "published": self.published[name], "target": port}
                ],
            }
            for name, port in PORTS.items()
        }
        return {
            "db": {"environment": {"POSTGRES_PASSWORD": PASSWORD, "POSTGRES_USER": "u"}},
            **built,
        }

    def _image_name(self, service: str) -> str:
        # As the compose file names them, chat's tag from the flavour the smoke sets.
        tag = self.env.get("CHAT_IMAGE_TAG", "lite") if service == "chat" else "latest"
        return f"{self.project}-{service}:{tag}"

    def _build(
        self, services: Any = None, *, stream_logs: bool = False, **kwargs: Any
    ) -> Iterator[tuple[str, bytes]] | None:
        if not stream_logs:
            return None
        # Lines as compose's plain progress prints them, on stderr.
        return iter([("stderr", f"{line}\n".encode()) for line in self.build_output])

    def _up(self, services: Any = None, **kwargs: Any) -> None:
        self.running = True
        # What compose interpolates the file with for tracing, as it is at `up`.
        self.up_env = {k: v for k, v in self.env.items() if k.startswith("SMOKE_TRACE_")}

    def _down(self, **kwargs: Any) -> None:
        if self.stubborn_downs:
            self.stubborn_downs -= 1
            return
        self.running = False

    def _remove(self, containers: list[str], force: bool = False, volumes: bool = False) -> None:
        self._down()  # the same effect as compose's `down`, by the project's label

    def _logs(
        self, services: list[str] | None = None, tail: str | None = None, timestamps: bool = False
    ) -> str:
        lines = []
        for service in services or SERVICES:
            own = self.service_logs.get(service, [])
            if tail is not None:
                own = own[-int(tail) :]
            prefix = f"{service}-1".ljust(8) + "| "
            lines += [prefix + (line if timestamps else line.split(" ", 1)[1]) for line in own]
        return "\n".join(lines) + ("\n" if lines else "")

    def _container_logs(self, container: str, timestamps: bool = False) -> str:
        """`docker logs` of one container: its service's lines, without a prefix."""
        service = container.removeprefix("id-").partition("~")[0]
        own = self.service_logs.get(service, [])
        return "".join(f"{line if timestamps else line.split(' ', 1)[1]}\n" for line in own)

    def _containers(self, all: bool = False, filters: Any = None) -> list[Any]:
        """What `docker container list` gives: an object per container, whose fields
        (but its id) cost an inspect each time they are read, as in python-on-whales."""
        if not self.running:
            return []
        labels = _labels(filters)
        if labels.get("com.docker.compose.project", self.project) != self.project:
            return []  # the engine holds only one project's stack
        wanted = labels.get("com.docker.compose.service")
        found = []
        extra = [name for name in self.states if name not in SERVICES]  # a team's own
        for service in (*SERVICES, *extra):
            if wanted and service != wanted:
                continue
            state = self.states.get(service, FakeState())
            if state.status != "running" and not all:
                continue  # `docker ps` without --all lists running containers only
            container = f"id-{service}" + (f"~{state.generation}" if state.generation > 1 else "")
            found.append(
                Listed(self.calls, container, functools.partial(self._inspected, service, state))
            )
        return found

    def _inspected(self, service: str, state: FakeState) -> SimpleNamespace:
        """The container of ``service`` as its inspect tells it, now."""
        lookups_fail = self.port_failures > 0 and service == "chat"
        if lookups_fail:
            self.port_failures -= 1
        port = PORTS.get(service)
        bindings = (
            [{"HostIp": self.host_ip, "HostPort": str(self.host_ports[service])}]
            if port and state.status == "running" and not lookups_fail
            else []
        )
        return SimpleNamespace(
            name=f"{self.project}-{service}-1",
            id=f"id-{service}" + (f"~{state.generation}" if state.generation > 1 else ""),
            image=state.image,
            state=SimpleNamespace(
                status=state.status,
                exit_code=state.exit_code,
                health=SimpleNamespace(
                    status=state.health,
                    log=[
                        SimpleNamespace(
                            output=state.health_output,
                            exit_code=0 if state.health == "healthy" else 1,
                            end=None,
                        )
                    ],
                )
                if state.health
                else None,
                started_at=state.started_at,
                finished_at=state.finished_at,
                oom_killed=state.oom_killed,
            ),
            created=state.created,
            config=SimpleNamespace(
                labels={
                    "com.docker.compose.project": self.project,
                    "com.docker.compose.service": service,
                    "com.docker.compose.config-hash": state.config_hash,
                },
                env=list(state.env),
            ),
            restart_count=state.restarts,
            host_config=SimpleNamespace(
                restart_policy=SimpleNamespace(name=state.restart_policy),
                memory=state.memory,
                port_bindings={f"{port}/tcp": [SimpleNamespace(host_port="0")]} if port else {},
            ),
            network_settings=SimpleNamespace(ports={f"{port}/tcp": bindings} if port else {}),
        )

    def _inspect_containers(self, ids: list[str]) -> list[Any]:
        """One `docker container inspect` of ``ids``: those that exist now, in order."""
        if not self.running:
            return []
        now = {}
        for service in (*SERVICES, *(name for name in self.states if name not in SERVICES)):
            state = self.states.get(service, FakeState())
            now[f"id-{service}" + (f"~{state.generation}" if state.generation > 1 else "")] = (
                service,
                state,
            )
        return [self._inspected(*now[container]) for container in ids if container in now]

    def _execute(self, container: str, command: list[str]) -> str:
        """`cat /proc/net/tcp` inside a container: a LISTEN row on its port, or none."""
        service = container.removeprefix("id-").partition("~")[0]
        listening = self.states.get(service, FakeState()).listening
        if listening is None or command[-1].endswith("tcp6"):
            raise docker_error(f"exec {container} {' '.join(command)}", 1, "no such file")
        port = f"{PORTS.get(service, 0):04X}"
        header = "  sl  local_address rem_address   st tx_queue rx_queue"
        address = "0100007F" if listening == "loopback" else "00000000"
        if listening == "elsewhere":  # the app on another port than the one published
            port = f"{PORTS.get(service, 0) + 1:04X}"
        row = f"   0: {address}:{port} 00000000:0000 {'0A' if listening else '01'} 0:0"
        return f"{header}\n{row}\n"

    def _networks(self, filters: Any = None) -> list[Any]:
        project = _labels(filters).get("com.docker.compose.project", self.project)
        if not self.running or project != self.project:
            return []
        return [
            Inspected(self.calls, "network inspect", name=f"{self.project}_default", id="id-net")
        ]

    def _volume_list(self, filters: Any = None) -> list[Any]:
        wanted = _labels(filters)
        return [
            SimpleNamespace(name=name, labels=labels)
            for name, labels in self.volumes.items()
            if all(labels.get(k) == v for k, v in wanted.items())
        ]

    def _volume_create(self, name: str, labels: dict[str, str] | None = None) -> Any:
        # As the engine does: an existing volume of that name is returned as it is.
        self.volumes.setdefault(name, dict(labels or {}))
        return SimpleNamespace(name=name, labels=dict(self.volumes[name]))

    def _volume_remove(self, volumes: list[Any]) -> None:
        for volume in volumes:
            self.volumes.pop(getattr(volume, "name", volume), None)

    def _image(self, name: str) -> Any:
        if name not in self.images:
            raise docker_error(f"image inspect {name}", 1, f"Error: No such image: {name}")
        image = self.images[name]
        labels = {"com.docker.compose.project": image.project}
        labels["com.docker.compose.service"] = image.service
        return SimpleNamespace(
            id=f"sha256:{name}",
            size=image.size,
            config=SimpleNamespace(labels=labels),
            repo_tags=[name],
        )

    def _inspect_images(self, names: list[str]) -> list[Any]:
        """One `docker image inspect`: those the engine has, in order; a name without a
        tag is its `latest`, as the engine reads it."""
        tagged = [n if ":" in n.rsplit("/", 1)[-1] else f"{n}:latest" for n in names]
        return [self._image(n) for n in tagged if n in self.images]

    def _image_inspect(self, names: str | list[str]) -> Any:
        # As docker does: one missing image fails the whole call.
        return [self._image(n) for n in names] if isinstance(names, list) else self._image(names)

    def _image_list(self, filters: Any = None) -> list[Any]:
        wanted = dict(filters or ())
        project = _labels(filters).get("com.docker.compose.project")
        found = [
            SimpleNamespace(id=image_id, repo_tags=[])
            for image_id, owner in self.dangling.items()
            if project in (None, owner)
        ]
        if wanted.get("dangling") != "true":
            found += [
                SimpleNamespace(id=f"sha256:{name}", repo_tags=[name])
                for name, image in self.images.items()
                if project in (None, image.project)
            ]
        return found

    def _image_remove(self, x: str | list[str], force: bool = False, prune: bool = True) -> None:
        for image_id in [x] if isinstance(x, str) else x:
            if image_id in self.in_use and not force:
                raise docker_error(f"image rm {image_id}", 1, "image is being used")
            self.dangling.pop(image_id, None)
            self.images.pop(image_id.removeprefix("sha256:"), None)

    def _context(self, name: Any = None) -> Any:
        return SimpleNamespace(endpoints={"docker": SimpleNamespace(host=self.context_host)})


@dataclass
class FakeServices:
    """web and chat over httpx.MockTransport, with a chosen fault.

    Chat stores each exchange it answers and reads back what it stored, so the
    persistence check is checked against chat's storage, not against itself.
    """

    chat_body: object = field(
        default_factory=lambda: {
            "answer": "Try the SkyView tent.",
            "conversation_id": "c1",
            "sources": ["TENT-002"],
        }
    )
    chat_raw: str | None = None
    proxy_status: int = 200
    db_status: int = 200
    db_body: dict[str, Any] | None = None
    health: dict[str, Any] = field(
        default_factory=lambda: {"status": "ok", "service": "chat", "stack": "minimal"}
    )
    #: Chat's published contract; None: /openapi.json answers 404.
    openapi: dict[str, Any] | None = None
    #: What chat's storage holds, by conversation id; None: it stores nothing.
    stored: dict[str, list[str]] | None = field(default_factory=dict)
    on_request: Callable[[httpx.Request], None] | None = None
    requests: list[str] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.port}{request.url.path}")
        if self.on_request:
            self.on_request(request)
        path, port = request.url.path, request.url.port
        if port == 8000 and path == "/health":
            return httpx.Response(200, json=self.health)
        if port == 8000 and path == "/health/dependencies":
            status = "ok" if self.db_status == 200 else "error"
            body = self.db_body or {"status": status, "dependencies": {"db": {"status": status}}}
            return httpx.Response(self.db_status, json=body)
        if port == 8000 and path == "/openapi.json":
            if self.openapi is None:
                return httpx.Response(404, json={"error": "Not Found"})
            return httpx.Response(200, json=self.openapi)
        if port == 3000 and path == "/api/chat/service":
            question = json.loads(request.content)["question"]
            body = self.chat_body
            if (
                self.stored is not None
                and isinstance(body, dict)
                and isinstance(body.get("answer"), str)
            ):
                self.stored[str(body.get("conversation_id"))] = [question, body["answer"]]
            if self.chat_raw is not None:
                return httpx.Response(self.proxy_status, text=self.chat_raw)
            return httpx.Response(self.proxy_status, text=json.dumps(body))
        if port == 3000 and path == "/":
            return httpx.Response(200, html="<form></form>")
        if port == 8000 and path.startswith("/api/conversations/"):
            conversation = (self.stored or {}).get(path.rsplit("/", 1)[1])
            if conversation is None:
                return httpx.Response(404, json={"error": "not found"})
            return httpx.Response(200, json={"messages": [{"content": c} for c in conversation]})
        return httpx.Response(404, json={"error": "Not Found"})

    def transport(self) -> httpx.MockTransport:
        def answered(request: httpx.Request) -> httpx.Response:
            clock.sleep(ANSWER_SECONDS)  # a real answer takes a moment, on the tests' clock
            return self.handler(request)

        return httpx.MockTransport(answered)


def chat_openapi() -> dict[str, Any]:
    """A contract like chat's own: POST /api/chat answers answer, conversation_id, sources."""
    return {
        "openapi": "3.1.0",
        "paths": {
            "/api/chat": {
                "post": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ChatAnswer"}
                                }
                            }
                        }
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "ChatAnswer": {
                    "type": "object",
                    "required": ["answer", "conversation_id", "sources"],
                    "properties": {
                        "answer": {"type": "string", "minLength": 1},
                        "conversation_id": {"type": "string"},
                        "sources": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    }


def stack(docker: FakeDocker, **env: str) -> Stack:
    """Project p of docker-compose.yml on the fake engine; ``env`` as the process's
    environment (none given: the real one)."""
    return on_fake(TARGET, docker, env=env or None)


def on_fake(target: Target, docker: FakeDocker, **options: Any) -> Stack:
    """``target``'s stack on the fake engine, its clients with variables of their own
    the fake's too."""
    return Stack(
        target,
        docker=cast(DockerClient, docker),
        docker_for=docker.with_env,
        inspector=cast(Inspector, docker.inspector),
        **options,
    )


class _WithEnv:
    """A fake engine as a client with variables of its own: each call sees them in
    ``FakeDocker.env`` while it runs (read when called: a test may replace a call)."""

    def __init__(self, docker: FakeDocker, env: dict[str, str]) -> None:
        self._docker, self._env = docker, env

    def __getattr__(self, name: str) -> Any:
        part = getattr(self._docker, name)
        if not isinstance(part, SimpleNamespace):
            return part
        return SimpleNamespace(**{verb: self._calling(part, verb) for verb in vars(part)})

    def _calling(self, part: SimpleNamespace, verb: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            saved, self._docker.env = self._docker.env, self._env
            try:
                return getattr(part, verb)(*args, **kwargs)
            finally:
                self._docker.env = saved

        return call


class Terminal(io.StringIO):
    """What a UTF-8 terminal or CI log would receive."""

    @property
    def encoding(self) -> str:
        return "utf-8"


def run_marks(docker: FakeDocker, project: str = "p") -> list[dict[str, str]]:
    """The labels of the project's run marks on the fake engine (as `docker volume ls
    --filter label=io.contoso-smoke.run=<project>` would list them)."""
    return [
        dict(labels)
        for labels in docker.volumes.values()
        if labels.get("io.contoso-smoke.run") == project
    ]


def port_lookups(docker: FakeDocker, service: str) -> int:
    """How often the smoke looked ``service``'s published port up: a listing of its
    first running container (each followed by one inspect)."""
    wanted = ("label", f"com.docker.compose.service={service}")
    return sum(
        1
        for name, _, kwargs in docker.asked
        if name == "container list"
        and kwargs.get("all") is False
        and wanted in kwargs.get("filters", ())
        and ("label", "com.docker.compose.container-number=1") in kwargs.get("filters", ())
    )
