"""Before ``up``: each fixed published port reachable from here and free on the
engine's host, so a run fails in one line rather than halfway through ``up``."""

from __future__ import annotations

import errno
import socket

from smoke.errors import EngineAddressUnreachable, PortInUse
from smoke.stack.engine import Engine, is_loopback

_PORT_PROBE_SECONDS = 1.0


def check(
    engine: Engine, published: list[tuple[str, str, int]], *, reachable_only: bool = False
) -> None:
    """Before `up`: the ports must be reachable from here and free on the engine's
    host, so a run fails in one line rather than halfway through `up`.
    ``reachable_only``: a kept stack being reused holds its ports itself."""
    if engine.remote and not engine.probe_override:
        on_loopback = sorted({ip for _, ip, _ in published if is_loopback(ip)})
        if on_loopback:
            raise EngineAddressUnreachable(
                f"the {engine.describe()} publishes ports on its own loopback "
                f"({', '.join(on_loopback)}), which this machine cannot reach",
                hint="set SMOKE_BIND_ADDRESS=0.0.0.0 (or an address of that host) and, "
                "if this machine reaches that host by another address, SMOKE_HOST",
            )
    if reachable_only or not engine.can_check_ports():
        return
    for service, ip, port in published:
        if port == 0:
            continue  # ephemeral: cannot collide
        if engine.remote:
            _ensure_nobody_listens(service, engine.probe_host(ip), port)
        else:
            _ensure_free(service, ip or "0.0.0.0", port)


def _ensure_free(service: str, host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like a server would: TIME_WAIT leftovers do not count, a listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise _port_in_use(service, host, port) from None


def _ensure_nobody_listens(service: str, host: str, port: int) -> None:
    """On a remote engine's host a port cannot be bound from here; one that accepts a
    connection is taken."""
    try:
        with socket.create_connection((host, port), timeout=_PORT_PROBE_SECONDS):
            pass
    except OSError:
        return  # refused or filtered: nobody we can see listens there
    raise _port_in_use(service, host, port)


def _port_in_use(service: str, host: str, port: int) -> PortInUse:
    return PortInUse(
        f"port {host}:{port} for {service} is already in use",
        hint=f"free it, or set SMOKE_{service.upper()}_PORT (0 picks a free port)",
        port=port,
    )
