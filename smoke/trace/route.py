"""How spans reach the smoke, chosen from where the engine is, and said at the start.

    otlp  a local engine: web and chat POST to the smoke's receiver through the host
          gateway (``host.docker.internal``), at a port fixed per project
    log   a remote engine (it cannot reach this process): they write each span as a
          JSON line in their logs, which the smoke reads with the others

Both values go to compose as SMOKE_TRACE_EXPORT and SMOKE_TRACE_PORT, the same on
every run of a project on an engine (tracing on or off), so a kept stack is never
recreated because of tracing.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import zlib
from dataclasses import dataclass
from typing import Literal

from smoke.stack.engine import Engine

#: The bridge docker's ``host-gateway`` maps to on a Linux engine.
GATEWAY_INTERFACE = "docker0"
# Below Linux's ephemeral range (32768+), so a port fixed per project seldom meets a
# port the kernel handed out.
_PORT_FIRST, _PORT_COUNT = 20000, 10000
_SIOCGIFADDR = 0x8915

Mode = Literal["otlp", "log"]


@dataclass(frozen=True)
class Route:
    mode: Mode
    #: Where the receiver listens (otlp only).
    address: str | None
    port: int

    def compose_env(self) -> dict[str, str]:
        return {"SMOKE_TRACE_EXPORT": self.mode, "SMOKE_TRACE_PORT": str(self.port)}

    def describe(self) -> str:
        if self.mode == "otlp":
            return f"spans by OTLP to this process at {self.address}:{self.port}"
        return "spans from the services' logs (the engine cannot reach this process)"

    def describe_short(self) -> str:
        """Where this run reads spans, as a service's settings would say it."""
        if self.mode == "otlp":
            return f"at http://host.docker.internal:{self.port}/v1/traces"
        return "from the services' logs"


def project_port(project: str) -> int:
    """The receiver's port for ``project``: the same on every run."""
    return _PORT_FIRST + zlib.crc32(project.encode()) % _PORT_COUNT


def interface_address(name: str) -> str | None:
    """The IPv4 address of a network interface on this machine, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            packed = fcntl.ioctl(
                probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15])
            )
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def choose(engine: Engine, project: str) -> Route:
    """otlp when the engine runs here and its bridge is on this machine; else log."""
    port = project_port(project)
    address = None if engine.remote else interface_address(GATEWAY_INTERFACE)
    if address is None:
        return Route("log", None, port)
    return Route("otlp", address, port)
