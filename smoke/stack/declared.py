"""What the compose file declares, read from its model without asking the engine:
the values to mask, whether the runbook's services are there, and the ports fixed
on the host."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from smoke.errors import ServicesMissing
from smoke.masking import is_secret_name, url_passwords

#: What each of the runbook's services must be, for the smoke to check it.
RUNBOOK_ROLES = {
    "db": "the database chat reads",
    "chat": "answers /health and /health/dependencies on container port 8000",
    "web": "proxies /api/chat/service to chat on container port 3000",
}


def _services(model: Mapping[str, Any]) -> dict[str, Any]:
    return dict(model.get("services") or {})


def secrets(
    model: Mapping[str, Any], env: Mapping[str, str], secret_names: Iterable[str]
) -> tuple[str, ...]:
    """The values to mask, longest first: each of ``secret_names`` set in ``env``,
    each secret variable of the model, and the password inside any URL-valued
    variable (`postgresql://u:pass@db`)."""
    values = {env[name] for name in secret_names if env.get(name)}
    for service in _services(model).values():
        for name, raw in (service.get("environment") or {}).items():
            # `compose config` writes a `$` as `$$`; the service sees one.
            value = str(raw or "").replace("$$", "$")
            if value and is_secret_name(name):
                values.add(value)
            values |= url_passwords(value)
    return tuple(sorted(values, key=len, reverse=True))


def require_services(model: Mapping[str, Any], needed: tuple[str, ...]) -> None:
    """The model has each service a command needs, by the runbook's names."""
    found = sorted(_services(model))
    missing = [name for name in needed if name not in found]
    if missing:
        roles = "; ".join(f"{name} {RUNBOOK_ROLES[name]}" for name in missing)
        raise ServicesMissing(
            f"the compose file has no service {' or '.join(missing)} "
            f"(services: {', '.join(found) or 'none'}); the smoke needs {roles}",
            hint="name the services as the runbook does (db, chat, web), e.g. in an "
            "override file given with --compose-file",
        )


def published(model: Mapping[str, Any]) -> Iterator[tuple[str, str, int]]:
    """(service, host ip, host port) of each fixed published port."""
    for name, service in _services(model).items():
        for mapping in service.get("ports") or []:
            number = str(mapping.get("published") or "0")
            if number.isdigit():  # a range is compose's to place
                yield name, str(mapping.get("host_ip") or ""), int(number)
