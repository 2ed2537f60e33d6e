"""Tracing in the run, with docker and HTTP faked: a trace per step on every request,
compose told how spans travel, the summary's timeline and slowest lines, and
--attach checking the stack as it is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from smoke import clock
from smoke.errors import NoStackRunning, ServiceStopped
from smoke.report.console import Console
from smoke.run import run_smoke
from smoke.stack.target import Target
from smoke.trace.route import project_port
from tests.unit.fakes import (
    FakeDocker,
    FakeServices,
    FakeState,
    Terminal,
    on_fake,
    own_project,
    run_options,
)

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-[0-9a-f]{16}-01")


def run(
    tmp_path: Path, docker: FakeDocker, services: FakeServices, **overrides: Any
) -> tuple[str, BaseException | None]:
    out = Terminal()
    target = Target(docker.project, (Path("docker-compose.yml"),))
    stack = on_fake(target, docker)
    try:
        run_smoke(
            run_options(log_file=tmp_path / "e2e-compose.log", target=target, **overrides),
            console=Console(out, tty=False),
            stack=stack,
            transport=services.transport(),
        )
    except BaseException as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def traced(services: FakeServices) -> list[tuple[str, str | None]]:
    seen: list[tuple[str, str | None]] = []

    def record(request: httpx.Request) -> None:
        match = TRACEPARENT.fullmatch(request.headers.get("traceparent", ""))
        seen.append((request.url.path, match.group(1) if match else None))

    services.on_request = record
    return seen


def test_every_request_carries_its_steps_trace_and_compose_is_told_the_route(
    tmp_path: Path,
) -> None:
    docker, services = FakeDocker(), FakeServices()
    seen = traced(services)
    output, error = run(tmp_path, docker, services)
    assert error is None, output
    by_path: dict[str, set[str | None]] = {}
    for path, trace_id in seen:
        by_path.setdefault(path, set()).add(trace_id)
    assert None not in {t for ids in by_path.values() for t in ids}
    assert by_path["/health"].isdisjoint(by_path["/api/chat/service"])  # a trace per step
    assert docker.up_env["SMOKE_TRACE_PORT"] == str(project_port("p"))
    assert docker.up_env["SMOKE_TRACE_EXPORT"] in ("otlp", "log")
    assert "smoke: trace: " in output.splitlines()[1]
    timeline = output.splitlines()[-1]
    assert timeline == (
        f"  timeline: {tmp_path / 'e2e-report.html'} (no trace: no span came back; e2e-trace.json)"
    )
    assert (tmp_path / "e2e-trace.json").is_file()


def test_no_trace_sends_no_context_and_compose_gets_the_same_route(tmp_path: Path) -> None:
    docker, services = FakeDocker(), FakeServices()
    seen = traced(services)
    output, error = run(tmp_path, docker, services, trace=False)
    assert error is None, output
    assert {trace_id for _, trace_id in seen} == {None}
    assert "smoke: trace: off: requests carry no trace context" in output
    # A kept stack is not recreated for tracing: the same values, on or off.
    assert docker.up_env["SMOKE_TRACE_PORT"] == str(project_port("p"))


def test_a_run_over_its_duration_budget_names_the_slowest_request(tmp_path: Path) -> None:
    docker, services = FakeDocker(), FakeServices()
    output, _ = run(tmp_path, docker, services, budgets=_budgets(0.000001))
    lines = output.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("PASS"))
    assert "over budget: duration" in lines[summary]
    assert re.fullmatch(
        r"  slowest: (GET|POST) /\S* \(.+\) \d+\.\d\d s, no service's span under it",
        lines[summary + 1],
    )


def test_a_step_that_timed_out_names_its_own_slowest_request_not_the_runs(
    tmp_path: Path,
) -> None:
    def slow(request: httpx.Request) -> None:
        if request.url.path == "/health":
            clock.sleep(20)  # the run's slowest request, in a step that passed
        if request.url.path == "/api/chat/service":
            clock.sleep(5)
            raise httpx.ReadTimeout("timed out", request=request)

    output, error = run(tmp_path, FakeDocker(), FakeServices(on_request=slow), timeout=6)
    assert error is not None
    lines = output.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("FAIL"))
    assert "web -> chat proxy call failed" in lines[summary]
    assert "    failure class: web -> chat proxy call timeout" in lines
    assert re.fullmatch(
        r"  slowest: POST /api/chat/service \(web -> chat proxy call\) 5\.\d\d s, .+",
        lines[summary + 1],
    ), output
    # The URL names whom the smoke asked: web held the connection.
    assert "    no trace: web took the connection and gave no answer in 5.0 s;" in output


def test_a_failure_without_spans_says_where_a_silent_service_sends_them(tmp_path: Path) -> None:
    elsewhere = (
        "SMOKE_TRACE_EXPORT=otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://collector:4318/v1/traces",
    )
    docker = FakeDocker(
        states={"web": FakeState(env=elsewhere), "chat": FakeState(env=elsewhere)},
        project=own_project(),  # its spans' route: a receiver of its own
    )
    output, error = run(tmp_path, docker, FakeServices(proxy_status=502))
    assert error is not None
    said = next(line.strip() for line in output.splitlines() if "no trace:" in line)
    assert said.startswith(
        "no trace: web and chat sent no span all run: it sends them to "
        "http://collector:4318/v1/traces, and this run reads them "
    ), said


def _budgets(seconds: float) -> Any:
    from smoke.outcome import Budgets

    return Budgets(max_duration_seconds=seconds)


def test_attach_checks_the_running_stack_as_it_is(tmp_path: Path) -> None:
    docker, services = FakeDocker(running=True), FakeServices()
    output, error = run(tmp_path, docker, services, attach=True, keep="always", build=False)
    assert error is None, output
    assert "✓ attach" in output
    assert "3 services running, as they are" in output
    assert "compose up" not in output
    assert not hasattr(docker, "up_env")  # nothing started
    assert "stack kept" in output


def test_attach_names_a_stopped_service_at_once_and_restarts_nothing(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    docker.states["db"] = FakeState(
        status="exited", exit_code=0, finished_at="2026-12-04T10:11:12.5Z"
    )
    services = FakeServices(db_status=503)
    seen = traced(services)
    output, error = run(tmp_path, docker, services, attach=True, keep="always", build=False)
    assert isinstance(error, ServiceStopped)
    assert (
        "db is exited (exit code 0 at 2026-12-04 10:11:12 UTC); nothing was started or "
        "restarted (--attach)"
    ) in output
    assert [path for path, _ in seen] == ["/health/dependencies"]  # one traced look
    assert not hasattr(docker, "up_env")


def test_attach_without_a_running_stack_is_an_environment_problem(tmp_path: Path) -> None:
    _, error = run(tmp_path, FakeDocker(running=False), FakeServices(), attach=True, keep="always")
    assert isinstance(error, NoStackRunning)


@pytest.mark.parametrize("status", ["exited", "created"])
def test_a_rerun_on_a_kept_stack_says_which_services_it_started_again(
    tmp_path: Path, status: str
) -> None:
    docker = FakeDocker(running=True)
    docker.states["db"] = FakeState(status=status)

    def started(*args: Any, **kwargs: Any) -> None:
        docker.states.pop("db")
        docker.running = True

    docker._up = started  # type: ignore[method-assign]
    output, error = run(tmp_path, docker, FakeServices(), keep="always")
    assert error is None, output
    assert re.search(rf"✓ compose up +\d+\.\d\ds  started again: db \(was {status}\)", output)


@pytest.mark.parametrize(
    ("changed", "why"),
    [
        ({"config_hash": "hash-2"}, "its configuration changed"),
        ({"image": "sha256:image-2"}, "its image changed"),
    ],
)
def test_a_rerun_that_recreates_a_container_says_which_why_and_keeps_its_logs(
    tmp_path: Path, changed: dict[str, str], why: str
) -> None:
    docker = FakeDocker(running=True)
    docker.service_logs["web"] = ["2026-11-25T12:00:03.000000000Z the hand-made web's last words"]

    def recreated(*args: Any, **kwargs: Any) -> None:
        docker.states["web"] = FakeState(generation=2, **changed)  # type: ignore[arg-type]
        docker.service_logs["web"] = ["2026-11-25T12:01:00.000000000Z a new web"]

    docker.compose.up = docker._call("compose up", recreated)
    output, error = run(tmp_path, docker, FakeServices(), keep="always")
    assert error is None, output
    before = tmp_path / "e2e-compose.before-up.log"
    line = next(x for x in output.splitlines() if "✓ compose up" in x)
    assert line.endswith(f"recreated: web ({why}); their logs from before: {before}")
    assert "the hand-made web's last words" in before.read_text()


def test_a_long_build_says_the_step_it_is_on(tmp_path: Path) -> None:
    docker = FakeDocker()

    def build(*args: Any, stream_logs: bool = False, **kwargs: Any) -> Any:
        step = b"#9 [web stage-1 2/7] RUN --mount=type=secret,id=build_ca uv pip install\n"
        yield ("stderr", step)
        clock.sleep(12)  # pip takes its time

    docker.compose.build = docker._call("compose build", build)
    output, error = run(tmp_path, docker, FakeServices())
    assert error is None, output
    assert (
        "  … compose up: still running after 10s: building web: step 2/7 of stage-1, "
        "RUN --mount=type=secret,id=build_ca uv pip install"
    ) in output.splitlines()


def test_an_up_that_fails_after_recreating_a_container_says_so_in_its_hint(
    tmp_path: Path,
) -> None:
    """The change may be the failure's cause: said with it, with the logs from before."""
    from smoke.errors import ComposeFailed
    from tests.unit.fakes import docker_error

    docker = FakeDocker(running=True)

    def recreated_then_failed(*args: Any, **kwargs: Any) -> None:
        docker.states["web"] = FakeState(generation=2, image="sha256:image-2")
        raise docker_error("compose up", 1, "Error: web is unhealthy")

    docker.compose.up = docker._call("compose up", recreated_then_failed)
    output, error = run(tmp_path, docker, FakeServices(), keep="always")
    assert isinstance(error, ComposeFailed), output
    before = tmp_path / "e2e-compose.before-up.log"
    assert error.hint.endswith(
        f"; recreated: web (its image changed); their logs from before: {before}"
    ), error.hint
    assert before.is_file()


def test_a_rerun_that_removes_a_service_the_file_no_longer_has_says_so(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    docker.states["api"] = FakeState()  # a kept stack's service, since left out of the file
    docker.service_logs["api"] = ["2026-11-25T12:00:04.000000000Z api's last words"]

    def orphan_removed(*args: Any, **kwargs: Any) -> None:  # `up --remove-orphans`
        docker.states.pop("api")

    docker.compose.up = docker._call("compose up", orphan_removed)
    output, error = run(tmp_path, docker, FakeServices(), keep="always")
    assert error is None, output
    before = tmp_path / "e2e-compose.before-up.log"
    line = next(x for x in output.splitlines() if "✓ compose up" in x)
    assert line.endswith(
        f"removed: api (not in the compose file); their logs from before: {before}"
    )
    assert "api's last words" in before.read_text()


def test_a_rerun_that_recreates_nothing_leaves_no_file_of_logs_from_before(tmp_path: Path) -> None:
    output, error = run(tmp_path, FakeDocker(running=True), FakeServices(), keep="always")
    assert error is None, output
    assert "recreated" not in output
    assert not (tmp_path / "e2e-compose.before-up.log").exists()


def test_a_fresh_stack_is_not_listed_before_up_and_a_kept_one_once(tmp_path: Path) -> None:
    docker = FakeDocker()
    output, error = run(tmp_path, docker, FakeServices())
    assert error is None, output
    before_up = docker.calls[: docker.calls.index("compose up")]
    after_claim = before_up[before_up.index("volume create") :]
    assert "container list" not in after_claim  # nothing to say "started again" about
    assert re.search(r"✓ compose up +\d+\.\d\ds\n", output)  # no note
    kept = FakeDocker(running=True)
    output, error = run(tmp_path, kept, FakeServices(), keep="always")
    assert error is None, output
    assert re.search(r"✓ compose up +\d+\.\d\ds\n", output)  # all running: nothing to say


def test_attach_names_every_stopped_service_and_looks_through_chat_only_if_it_runs(
    tmp_path: Path,
) -> None:
    docker = FakeDocker(running=True)
    docker.states["db"] = FakeState(status="exited", exit_code=0)
    docker.states["chat"] = FakeState(status="exited", exit_code=3)
    services = FakeServices()
    seen = traced(services)
    output, error = run(tmp_path, docker, services, attach=True, keep="always", build=False)
    assert isinstance(error, ServiceStopped)
    assert error.services == ("chat", "db")
    assert "chat is exited (exit code 3); db is exited (exit code 0); nothing was" in output
    assert seen == []  # chat is down: no look through it


@pytest.mark.parametrize(
    ("status", "exit_code", "said", "fix"),
    [
        ("paused", 0, "chat is paused;", "`docker compose -p p unpause chat`"),
        ("restarting", 3, "chat is restarting (last exit code 3);", "restart policy"),
        ("created", 0, "chat is created, never started;", "`docker compose -p p start chat`"),
        ("dead", 137, "chat is dead (exit code 137);", "`docker compose -p p rm -f chat`"),
        ("exited", 3, "chat is exited (exit code 3);", "`docker compose -p p start chat`"),
    ],
)
def test_attach_says_each_engine_state_in_its_own_word_with_the_fix_that_works(
    tmp_path: Path, status: str, exit_code: int, said: str, fix: str
) -> None:
    docker = FakeDocker(running=True)
    docker.states["chat"] = FakeState(status=status, exit_code=exit_code)
    output, error = run(tmp_path, docker, FakeServices(), attach=True, keep="always", build=False)
    assert isinstance(error, ServiceStopped)
    assert said in output
    assert fix in error.hint
    assert error.hint.startswith("--attach starts nothing: ")
    if status == "paused":
        assert "exit code" not in str(error)  # a paused container has none
        assert " start chat" not in error.hint  # the engine refuses to start a paused one
