"""Every service of the project, as compose's model gives it: the runbook's three
(db, chat, web), which the smoke probes itself, and the others a team's compose file
adds, each with what counts as ready for it.

  job         a one-shot init job (a migration, a seed): done when it exits 0. It is a
              service another depends on with `service_completed_successfully`, or one
              labelled `io.contoso-smoke.job: "true"`.
  healthy     a service with a healthcheck (a cache, a queue): its healthcheck passes.
  running     a service with neither: its container runs.

Only services of the active profiles are in the model; the others are not started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from smoke.stack.compose import CHAT, DB, WEB

RUNBOOK_SERVICES = (DB, CHAT, WEB)
#: Marks a service with no dependents as a one-shot job.
JOB_LABEL = "io.contoso-smoke.job"
_TRUE = frozenset({"1", "true", "yes", "on"})

Readiness = Literal["job", "healthy", "running"]


@dataclass(frozen=True)
class ExtraService:
    name: str
    ready_when: Readiness

    @property
    def kind(self) -> str:
        """What the step line calls it: `job migrate`, `service cache`."""
        return "job" if self.ready_when == "job" else "service"


def extra_services(model: Mapping[str, Any]) -> tuple[ExtraService, ...]:
    """The project's services beyond the runbook's three, in the model's order."""
    services: Mapping[str, Any] = model.get("services") or {}
    completed = {
        dependency
        for service in services.values()
        for dependency, how in (service.get("depends_on") or {}).items()
        if isinstance(how, Mapping) and how.get("condition") == "service_completed_successfully"
    }
    extras = []
    for name, service in services.items():
        if name in RUNBOOK_SERVICES:
            continue
        labels = service.get("labels") or {}
        healthcheck = service.get("healthcheck") or {}
        if name in completed or str(labels.get(JOB_LABEL, "")).strip().lower() in _TRUE:
            extras.append(ExtraService(name, "job"))
        elif healthcheck.get("test") and not healthcheck.get("disable"):
            extras.append(ExtraService(name, "healthy"))
        else:
            extras.append(ExtraService(name, "running"))
    return tuple(extras)
