"""The waits for the services a team's compose file adds (``smoke.stack.services``):
each until it is what counts as ready for it, failing at once when the engine makes
the answer certain (a job's exit code, an unhealthy or exited container)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from smoke import clock
from smoke.checks.waiting import attempts
from smoke.errors import InitJobFailed, ServiceCrashed, ServiceNotReady
from smoke.stack.services import ExtraService
from smoke.stack.state import ServiceState


class Engine(Protocol):
    def state(self, service: str) -> ServiceState | None: ...


def wait_for(engine: Engine, service: ExtraService, timeout: float) -> str:
    """Wait until ``service`` is ready; returns the step's note (`exited 0 after 1.10s`)."""
    started = clock.monotonic()
    name = service.name
    state: ServiceState | None = None
    for _ in attempts(timeout):
        state = engine.state(name)
        if state is None:
            continue  # not created yet
        took = f"after {clock.monotonic() - started:.2f}s"
        if service.ready_when == "job":
            if state.status in ("exited", "dead"):
                if state.exit_code == 0:
                    return f"exited 0 {took}"
                raise InitJobFailed(
                    f"job {name} exited with code {state.exit_code} {took}",
                    services=(name,),
                )
            continue
        if state.gone_for_good:
            raise ServiceCrashed(f"{name} {state.ending()} {took}", services=(name,))
        if service.ready_when == "healthy":
            if state.health == "unhealthy":
                raise ServiceNotReady(
                    f"{name} is unhealthy {took}: the engine says {state.describe()}",
                    services=(name,),
                )
            if state.status == "running" and state.health == "healthy":
                return f"healthy {took}"
        elif state.status == "running":
            return f"running {took}"
    want = {"job": "done", "healthy": "healthy", "running": "running"}[service.ready_when]
    seen = "it has no container" if state is None else f"the engine says {state.describe()}"
    failure = InitJobFailed if service.ready_when == "job" else ServiceNotReady
    raise failure(
        f"{service.kind} {name} not {want} after {timeout:g}s (--timeout); {seen}",
        services=(name,),
    )


def failed_job(engine: Engine, extras: Sequence[ExtraService]) -> InitJobFailed | None:
    """The job that made `compose up` stop, as the engine tells it, if one did."""
    for extra in extras:
        state = engine.state(extra.name) if extra.ready_when == "job" else None
        if state is not None and state.status in ("exited", "dead") and state.exit_code != 0:
            return InitJobFailed(
                f"job {extra.name} exited with code {state.exit_code}, so compose up stopped",
                services=(extra.name,),
            )
    return None
