"""The services a team's compose file adds: what each is, from compose's model, and
the verdict of its wait, from the engine's state."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from smoke.checks.services import failed_job, wait_for
from smoke.clock import FakeClock
from smoke.errors import InitJobFailed, ServiceCrashed, ServiceNotReady
from smoke.stack.services import ExtraService, extra_services
from smoke.stack.state import ServiceState

RUNNING = ServiceState("running", 0, 0, None, "no")


def model(**services: dict[str, Any]) -> dict[str, Any]:
    return {"services": {"db": {}, "chat": {}, "web": {}, **services}}


def test_extra_services_are_told_apart_by_what_compose_says_of_them() -> None:
    found = extra_services(
        model(
            migrate={"image": "x"},
            seed={"labels": {"io.contoso-smoke.job": "true"}},
            cache={"healthcheck": {"test": ["CMD", "true"], "interval": 2}},
            quiet={"healthcheck": {"test": ["CMD", "true"], "disable": True}},
            worker={},
            chatops={"depends_on": {"migrate": {"condition": "service_completed_successfully"}}},
        )
    )
    assert found == (
        ExtraService("migrate", "job"),
        ExtraService("seed", "job"),
        ExtraService("cache", "healthy"),
        ExtraService("quiet", "running"),
        ExtraService("worker", "running"),
        ExtraService("chatops", "running"),
    )
    assert [extra.kind for extra in found[:3]] == ["job", "job", "service"]
    assert extra_services(model()) == ()  # the reference stack: nothing more to wait for


class Engine:
    """The engine's answers for one service, one per look; the last one repeats."""

    def __init__(self, *states: ServiceState | None) -> None:
        self.states = list(states)

    def state(self, service: str) -> ServiceState | None:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


def test_a_job_passes_on_exit_0_and_fails_at_once_on_another_code() -> None:
    job = ExtraService("migrate", "job")
    exited = replace(RUNNING, status="exited")
    note = wait_for(Engine(None, RUNNING, exited), job, timeout=5)
    assert note.startswith("exited 0 after ")
    with pytest.raises(InitJobFailed) as caught:
        wait_for(Engine(RUNNING, replace(exited, exit_code=1)), job, timeout=30)
    assert str(caught.value).startswith("job migrate exited with code 1 after ")
    assert caught.value.services == ("migrate",)
    assert caught.value.failure_class == "init job failed"


def test_a_healthcheck_service_waits_for_healthy_and_fails_on_unhealthy() -> None:
    cache = ExtraService("cache", "healthy")
    starting = replace(RUNNING, health="starting")
    assert wait_for(Engine(starting, replace(RUNNING, health="healthy")), cache, 5).startswith(
        "healthy after "
    )
    unhealthy = replace(RUNNING, health="unhealthy", health_output="PONG expected, got nothing")
    with pytest.raises(ServiceNotReady) as caught:
        wait_for(Engine(starting, unhealthy), cache, timeout=30)
    assert "cache is unhealthy" in str(caught.value)
    assert "its healthcheck said: PONG expected, got nothing" in str(caught.value)


def test_a_service_that_never_gets_ready_fails_at_the_timeout_with_the_engines_view() -> None:
    starting = replace(RUNNING, health="starting", health_output="connection refused")
    with pytest.raises(ServiceNotReady) as caught:
        wait_for(Engine(starting), ExtraService("cache", "healthy"), timeout=0.3)
    said = str(caught.value)
    assert said.startswith("service cache not healthy after 0.3s (--timeout); the engine says")
    assert "connection refused" in said
    with pytest.raises(InitJobFailed, match=r"job migrate not done after 0\.3s"):
        wait_for(Engine(None), ExtraService("migrate", "job"), timeout=0.3)


def test_a_service_that_exits_when_it_should_run_has_crashed() -> None:
    gone = replace(RUNNING, status="exited", exit_code=3)
    with pytest.raises(ServiceCrashed, match="worker exited with code 3"):
        wait_for(Engine(gone), ExtraService("worker", "running"), timeout=5)
    assert wait_for(Engine(RUNNING), ExtraService("worker", "running"), 5).startswith("running")


def test_the_job_that_stopped_compose_up_is_named_from_the_engine() -> None:
    extras = (ExtraService("cache", "healthy"), ExtraService("migrate", "job"))
    failed = replace(RUNNING, status="exited", exit_code=2)
    job = failed_job(Engine(failed), extras)
    assert job is not None
    assert str(job) == "job migrate exited with code 2, so compose up stopped"
    assert failed_job(Engine(replace(failed, exit_code=0)), extras) is None
    assert failed_job(Engine(None), extras) is None


def test_the_waits_say_how_long_they_took_and_name_the_service(fake_clock: FakeClock) -> None:
    class Slow(Engine):
        def state(self, service: str) -> ServiceState | None:
            fake_clock.advance(0.5)  # each look at the engine takes 0.5 s
            assert service == self.name
            return super().state(service)

    def slow(name: str, *states: ServiceState | None) -> Slow:
        engine = Slow(*states)
        engine.name = name  # type: ignore[attr-defined]
        return engine

    dead = replace(RUNNING, status="dead", exit_code=0)
    assert wait_for(slow("seed", RUNNING, dead), ExtraService("seed", "job"), 30) == (
        "exited 0 after 1.05s"  # two looks and the pause between them
    )
    with pytest.raises(ServiceCrashed) as crashed:
        wait_for(
            slow("w", replace(RUNNING, status="exited", exit_code=3)),
            ExtraService("w", "running"),
            30,
        )
    assert str(crashed.value) == "w exited with code 3 after 0.50s"
    assert crashed.value.services == ("w",)
    with pytest.raises(ServiceNotReady) as unhealthy:
        wait_for(slow("c", replace(RUNNING, health="unhealthy")), ExtraService("c", "healthy"), 30)
    assert unhealthy.value.services == ("c",)


def test_a_wait_past_its_timeout_names_what_it_wanted() -> None:
    created = replace(RUNNING, status="created")
    with pytest.raises(ServiceNotReady) as caught:
        wait_for(Engine(created), ExtraService("worker", "running"), timeout=0.2)
    assert str(caught.value).startswith("service worker not running after 0.2s (--timeout); ")
    assert caught.value.services == ("worker",)
    with pytest.raises(InitJobFailed) as never:
        wait_for(Engine(None), ExtraService("migrate", "job"), timeout=0.2)
    assert str(never.value) == ("job migrate not done after 0.2s (--timeout); it has no container")
    assert never.value.services == ("migrate",)


def test_only_jobs_are_asked_about_when_up_stops() -> None:
    asked: list[str] = []

    class Recording(Engine):
        def state(self, service: str) -> ServiceState | None:
            asked.append(service)
            return super().state(service)

    failed = replace(RUNNING, status="exited", exit_code=1)
    extras = (ExtraService("cache", "healthy"), ExtraService("migrate", "job"))
    assert failed_job(Recording(failed), extras) is not None
    assert asked == ["migrate"]
