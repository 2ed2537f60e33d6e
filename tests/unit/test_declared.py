"""What the compose file declares, read from its model: values to mask, the
runbook's services, the ports fixed on the host."""

from __future__ import annotations

import pytest

from smoke.errors import ServicesMissing
from smoke.stack.declared import published, require_services, secrets

MODEL = {
    "services": {
        "db": {"environment": {"POSTGRES_PASSWORD": "pa$$word", "POSTGRES_USER": "u"}},
        "chat": {
            "environment": {"DATABASE_URL": "postgresql://u:in-url@db/x", "LOG_LEVEL": "info"},
            "ports": [{"host_ip": "127.0.0.1", "published": "8000", "target": 8000}],
        },
        "web": {"ports": [{"published": "3000-3005", "target": 3000}, {"target": 9}]},
    }
}


def test_secrets_are_the_secret_variables_url_passwords_and_named_env_longest_first() -> None:
    found = secrets(MODEL, {"API_TOKEN": "tok", "UNSET": ""}, ("API_TOKEN", "UNSET", "NONE"))
    assert set(found) == {"pa$word", "in-url", "tok"}  # `$$` is compose's `$`
    assert [len(v) for v in found] == sorted((len(v) for v in found), reverse=True)
    assert "info" not in found
    assert secrets({}, {}, ()) == ()


def test_a_missing_runbook_service_is_named_with_what_it_must_answer() -> None:
    require_services(MODEL, ("db", "chat", "web"))
    team = {"services": {"db": {}, "api": {}, "web": {}}}
    with pytest.raises(ServicesMissing) as caught:
        require_services(team, ("db", "chat", "web"))
    assert str(caught.value) == (
        "the compose file has no service chat (services: api, db, web); the smoke needs "
        "chat answers /health and /health/dependencies on container port 8000"
    )
    with pytest.raises(ServicesMissing, match=r"no service db or chat \(services: none\)"):
        require_services({}, ("db", "chat"))


def test_published_ports_are_listed_but_not_a_range() -> None:
    # No number is 0, the engine's pick (ports.check lets it be); a range is compose's.
    assert list(published(MODEL)) == [("chat", "127.0.0.1", 8000), ("web", "", 0)]
