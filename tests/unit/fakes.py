"""A fake of the python-on-whales surface the smoke uses, and a fake stack over HTTP.

It records every call in order, so tests can assert what happened and when
(logs captured before `down`, `down` after a failure, nothing after an error).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
from python_on_whales.exceptions import DockerException

PASSWORD = "s3cret-pass"  # a fake secret the tests look for


def docker_error(command: str, return_code: int = 1, stderr: str = "boom") -> DockerException:
    return DockerException(["docker", *command.split()], return_code, b"", stderr.encode())


@dataclass
class FakeDocker:
    calls: list[str] = field(default_factory=list)
    running: bool = False
    fail: dict[str, DockerException] = field(default_factory=dict)
    logs_text: str = (
        f"db-1    | started with password {PASSWORD}\nchat-1  | ready\nweb-1   | ready\n"
    )
    #: How many `down` calls leave a container behind (a killed `up` still creating it).
    stubborn_downs: int = 0
    #: How many `compose port` calls fail, as for a container that is restarting.
    port_failures: int = 0

    def __post_init__(self) -> None:
        self.system = SimpleNamespace(info=self._info)
        self.compose = SimpleNamespace(
            version=self._call("compose version", lambda: "2.40.3"),
            config=self._call("compose config", self._config),
            build=self._call("compose build", lambda: None),
            up=self._call("compose up", self._up),
            port=self._port,
            logs=self._call("compose logs", lambda: self.logs_text),
            down=self._call("compose down", self._down),
        )
        self.container = SimpleNamespace(list=self._containers)
        self.network = SimpleNamespace(list=self._networks)
        self.volume = SimpleNamespace(list=lambda **kw: [])
        self.image = SimpleNamespace(inspect=lambda name: SimpleNamespace(size=123_000_000))

    def _call(self, name: str, result: Callable[[], Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            if name in self.fail:
                raise self.fail[name]
            return result()

        return call

    def _info(self) -> Any:
        self.calls.append("info")
        if "info" in self.fail:
            raise self.fail["info"]
        return SimpleNamespace(driver="overlay2")

    def _config(self) -> dict[str, Any]:
        return {
            "services": {
                "db": {"environment": {"POSTGRES_PASSWORD": PASSWORD, "POSTGRES_USER": "u"}},
                "chat": {"ports": [{"host_ip": "127.0.0.1", "published": "0", "target": 8000}]},
                "web": {"ports": [{"host_ip": "127.0.0.1", "published": "0", "target": 3000}]},
            }
        }

    def _up(self) -> None:
        self.running = True

    def _down(self) -> None:
        if self.stubborn_downs:
            self.stubborn_downs -= 1
            return
        self.running = False

    def _port(self, service: str, port: int) -> tuple[str, int]:
        self.calls.append(f"compose port {service}")
        if self.port_failures:
            self.port_failures -= 1
            raise docker_error(f"compose port {service} {port}")
        return ("127.0.0.1", {"web": 3000, "chat": 8000}[service])

    def _containers(self, **kwargs: Any) -> list[Any]:
        names = ["p-db-1", "p-chat-1", "p-web-1"] if self.running else []
        return [SimpleNamespace(name=n, id=f"id-{n}") for n in names]

    def _networks(self, **kwargs: Any) -> list[Any]:
        return [SimpleNamespace(name="p_default", id="id-net")] if self.running else []


@dataclass
class FakeServices:
    """web and chat over httpx.MockTransport, with a chosen fault."""

    chat_body: object = field(
        default_factory=lambda: {"answer": "Try the SkyView tent.", "conversation_id": "c1"}
    )
    chat_raw: str | None = None
    proxy_status: int = 200
    db_status: int = 200
    on_request: Callable[[httpx.Request], None] | None = None
    requests: list[str] = field(default_factory=list)
    exchange: list[str] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.port}{request.url.path}")
        if self.on_request:
            self.on_request(request)
        path, port = request.url.path, request.url.port
        if port == 8000 and path == "/health":
            return httpx.Response(200, json={"status": "ok", "service": "chat", "stack": "minimal"})
        if port == 8000 and path == "/health/dependencies":
            status = "ok" if self.db_status == 200 else "error"
            return httpx.Response(
                self.db_status, json={"status": status, "dependencies": {"db": {"status": status}}}
            )
        if port == 3000 and path == "/api/chat/service":
            self.exchange = [json.loads(request.content)["question"]]
            if isinstance(self.chat_body, dict) and isinstance(self.chat_body.get("answer"), str):
                self.exchange.append(self.chat_body["answer"])
            if self.chat_raw is not None:
                return httpx.Response(self.proxy_status, text=self.chat_raw)
            return httpx.Response(self.proxy_status, text=json.dumps(self.chat_body))
        if port == 3000 and path == "/":
            return httpx.Response(200, html="<form></form>")
        if port == 8000 and path == "/api/conversations/c1":
            messages = [{"content": text} for text in self.exchange]
            return httpx.Response(200, json={"messages": messages})
        return httpx.Response(404, json={"error": "Not Found"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)
