"""The run's newer promises with docker and HTTP faked: the full profile's failure
classes, chat's schema, keeping a failed stack, earlier runs' stacks, what the engine
says during a wait, and teardown and reports shielded from signals."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

import smoke.run
from smoke import clock
from smoke.errors import (
    BrowserCheckFailed,
    ChatHealthTimeout,
    CheckFailed,
    ContractDrift,
    DependencyFailure,
    Interrupted,
    PersistenceFailed,
    ProjectInUse,
    SemanticMismatch,
    ServiceCrashed,
    StackMismatch,
    Unreachable,
)
from smoke.stack.claim import Owner
from tests.unit.fakes import FakeDocker, FakeServices, FakeState, chat_openapi, port_lookups
from tests.unit.test_run import run


def full(**overrides: Any) -> dict[str, Any]:
    return {"profile": "full", "browser": False, **overrides}


# -- the full profile's failure classes, each made to fail ---------------------------


@pytest.mark.parametrize(
    ("services", "failure", "step", "overrides"),
    [
        (FakeServices(stored=None), PersistenceFailed, "conversation persisted", {}),
        (
            FakeServices(health={"status": "ok", "service": "chat", "stack": "minimal"}),
            StackMismatch,
            "chat local stack",
            {"install_local_stack": True},
        ),
    ],
    ids=["not-persisted", "stack-mismatch"],
)
def test_full_profile_failures_are_classified(
    tmp_path: Path,
    services: FakeServices,
    failure: type[CheckFailed],
    step: str,
    overrides: dict[str, Any],
) -> None:
    docker = FakeDocker()
    output, error = run(tmp_path, docker, services, **full(**overrides))
    assert isinstance(error, failure), output
    assert error.step == step
    assert f"✗ {step}" in output
    assert f"failure class: {failure.failure_class}" in output
    assert not docker.running


def test_a_page_without_a_form_fails_the_web_page_step(tmp_path: Path) -> None:
    def no_form(request: httpx.Request) -> None:
        if request.url.path == "/" and request.url.port == 3000:
            raise httpx.ConnectError("refused", request=request)

    output, error = run(tmp_path, FakeDocker(), FakeServices(on_request=no_form), **full())
    assert error is not None
    assert "✗ web page" in output
    assert "failure class: web page" in output


def test_semantic_retrieval_shows_question_expected_and_ranking(tmp_path: Path) -> None:
    local = {"status": "ok", "service": "chat", "stack": "local", "model": "m", "dimension": 3}
    services = FakeServices(health=local)
    output, error = run(tmp_path, FakeDocker(), services, **full(install_local_stack=True))
    assert isinstance(error, SemanticMismatch), output
    assert "✓ chat local stack" in output
    assert 'asked "cozy bedding for chilly nights outdoors"' in output
    assert "expected BAG-001 first in sources, got ['TENT-002']" in output


def test_browser_failure_names_the_step_and_the_screenshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []

    class BrokenPage:
        def ask(
            self,
            web_url: str,
            question: str,
            *,
            timeout: float,
            screenshot: Path,
            headers: Mapping[str, str] | None = None,
        ) -> str:
            raise BrowserCheckFailed(f"uncaught page error: boom (screenshot: {screenshot})")

        def begin_close(self) -> None:
            closed.append(f"begin close, after {len(docker.calls)} docker calls")

        def close(self) -> None:
            closed.append(f"closed, after {len(docker.calls)} docker calls")

    monkeypatch.setattr("smoke.checks.browser.find_browser", lambda env=None: object())
    monkeypatch.setattr("smoke.checks.browser.start", lambda browser: BrokenPage())
    docker = FakeDocker()
    output, error = run(tmp_path, docker, FakeServices(), profile="full")
    assert isinstance(error, BrowserCheckFailed)
    # The browser goes with the run: let go before the logs and the teardown, waited
    # for once they are done (its close costs the run nothing).
    begun, ended = closed
    teardown = docker.calls.index("container remove")
    assert int(begun.split()[3]) <= teardown < int(ended.split()[2])
    assert "✗ web page (browser)" in output
    assert f"uncaught page error: boom (screenshot: {tmp_path / 'e2e-web.png'})" in output


# -- chat's schema --------------------------------------------------------------------


def test_a_body_that_breaks_chats_schema_is_drift_naming_the_path(tmp_path: Path) -> None:
    body = {"answer": "Try it.", "conversation_id": "c1", "sources": "TENT-002"}
    services = FakeServices(chat_body=body, openapi=chat_openapi())
    output, error = run(tmp_path, FakeDocker(), services)
    assert isinstance(error, ContractDrift), output
    assert "$.sources: expected array, got string" in output


def test_a_body_that_matches_the_schema_says_so(tmp_path: Path) -> None:
    output, error = run(tmp_path, FakeDocker(), FakeServices(openapi=chat_openapi()))
    assert error is None, output
    assert "matches chat's /openapi.json" in output


def test_no_schema_falls_back_unless_strict(tmp_path: Path) -> None:
    output, error = run(tmp_path, FakeDocker(), FakeServices(openapi=None))
    assert error is None, output
    assert "runbook rule only: chat GET /openapi.json answered HTTP 404" in output
    output, error = run(tmp_path, FakeDocker(), FakeServices(openapi=None), strict_contract=True)
    assert isinstance(error, ContractDrift)
    assert "no schema to check against (--strict-contract)" in output


# -- keeping a failed stack -----------------------------------------------------------


def test_keep_on_failure_removes_a_passing_stack(tmp_path: Path) -> None:
    docker = FakeDocker()
    output, error = run(tmp_path, docker, FakeServices(), keep="on-failure")
    assert error is None
    assert not docker.running
    assert "✓ teardown" in output
    assert docker.volumes == {}  # the run's mark went with the stack


def test_keep_on_failure_keeps_a_failing_stack_and_says_how_to_look(tmp_path: Path) -> None:
    docker = FakeDocker()
    output, error = run(tmp_path, docker, FakeServices(proxy_status=500), keep="on-failure")
    assert isinstance(error, CheckFailed)
    assert docker.running
    assert "container remove" not in docker.calls
    assert "stack kept because it failed (project p)" in output
    assert "docker compose -p p -f docker-compose.yml ps" in output
    assert "nox -s logs -- --project p" in output
    assert "nox -s teardown -- --project p" in output
    (mark,) = docker.volumes.values()
    owner = Owner.from_labels(mark)
    assert owner is not None
    assert owner.kept


# -- earlier runs' stacks -----------------------------------------------------------------


def mark(docker: FakeDocker, owner: Owner) -> None:
    docker.volumes["p_smoke-run"] = owner.labels("p")


def test_a_stale_stack_is_named_then_removed_before_the_run(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    dead = Owner.this_process(kept=False)
    mark(docker, Owner(2**22 + 7, dead.process_start, dead.host, dead.started_at, False))
    output, error = run(tmp_path, docker, FakeServices())
    assert error is None, output
    assert "stale stack of project p (started" in output
    assert f"by PID {2**22 + 7}" in output
    assert docker.calls.index("container remove") < docker.calls.index("compose up")
    # Its logs first: the evidence of whatever that run was doing is not lost.
    saved = tmp_path / "e2e-compose.stale.log"
    assert f"smoke: the stale stack's logs, saved before its removal: {saved}" in output
    assert docker.calls.index("compose logs") < docker.calls.index("container remove")
    assert "started with password ***" in saved.read_text()  # masked like the run's own


def test_a_stack_owned_by_a_live_run_stops_this_one(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    mark(docker, Owner.this_process(kept=False))  # this very process: alive
    _, error = run(tmp_path, docker, FakeServices())
    assert isinstance(error, ProjectInUse)
    assert "is in use by a running smoke" in str(error)
    assert "compose up" not in docker.calls
    assert "container remove" not in docker.calls


def test_a_kept_stack_is_reused_without_a_port_check(tmp_path: Path) -> None:
    finished = Owner.this_process(kept=True)  # a kept stack of a run that has ended
    with listening() as port:  # the kept stack's own web holds its port
        docker = FakeDocker(running=True, published={"web": str(port), "chat": "0"})
        mark(
            docker,
            Owner(2**22 + 7, finished.process_start, finished.host, finished.started_at, True),
        )
        output, error = run(tmp_path, docker, FakeServices())
    assert error is None, output
    assert "✓ teardown" in output


def test_a_fixed_port_taken_stops_a_fresh_run(tmp_path: Path) -> None:
    with listening() as port:
        docker = FakeDocker(published={"web": str(port), "chat": "0"})
        _, error = run(tmp_path, docker, FakeServices())
    assert error is not None
    assert f"port 127.0.0.1:{port} for web is already in use" in str(error)
    assert "compose up" not in docker.calls


class listening:
    """A listener on a free port of 127.0.0.1, as another program's would be; never
    a skip, whatever else this machine runs."""

    def __enter__(self) -> int:
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        port: int = self.socket.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self.socket.close()


# -- what the engine says during a wait -----------------------------------------------


@pytest.fixture
def fast_engine_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("smoke.checks.waiting.ENGINE_AFTER_SECONDS", 0.0)
    monkeypatch.setattr("smoke.checks.waiting.ENGINE_EVERY_SECONDS", 0.0)


def refuse(request: httpx.Request) -> None:
    if request.url.path == "/health":
        raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.usefixtures("fast_engine_checks")
def test_an_exited_chat_fails_at_once_with_its_exit_code(tmp_path: Path) -> None:
    docker = FakeDocker()
    docker.states["chat"] = FakeState(status="exited", exit_code=3)
    docker.service_logs["chat"] = ["2026-11-25T12:00:02.5Z chat: fatal: cannot load model"]
    output, error = run(tmp_path, docker, FakeServices(on_request=refuse), timeout=3)
    assert isinstance(error, ServiceCrashed), output
    assert error.elapsed < 1.5  # at once, not at the 3 s timeout
    assert "chat exited with code 3 and no restart policy will bring it back" in output
    assert "failure class: service crashed" in output
    assert "chat: fatal: cannot load model" in output
    assert "crashing at start" not in output


@pytest.mark.usefixtures("fast_engine_checks")
def test_a_crash_looping_chat_fails_without_waiting_out_the_timeout(tmp_path: Path) -> None:
    docker = FakeDocker()
    docker.states["chat"] = FakeState("restarting", 3, restarts=3, restart_policy="always")
    output, error = run(tmp_path, docker, FakeServices(on_request=refuse), timeout=3)
    assert isinstance(error, ServiceCrashed), output
    assert "chat is crash-looping: restarted 3 times, last exit code 3" in output


@pytest.mark.usefixtures("fast_engine_checks")
def test_a_healthy_chat_the_smoke_cannot_reach_is_unreachable_not_crashing(
    tmp_path: Path,
) -> None:
    docker = FakeDocker()
    docker.states["chat"] = FakeState(health="healthy")
    output, error = run(tmp_path, docker, FakeServices(on_request=refuse), timeout=3)
    assert isinstance(error, Unreachable), output
    assert "chat is running and healthy in the engine" in output
    assert "cannot reach it at 127.0.0.1:8000" in output
    assert "failure class: unreachable from the smoke" in output
    assert "SMOKE_HOST" in output


def test_a_running_chat_that_never_answers_is_a_timeout_saying_what_the_engine_saw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("smoke.checks.waiting.ENGINE_AFTER_SECONDS", 0.0)
    docker = FakeDocker()
    docker.states["chat"] = FakeState(health="starting")
    output, error = run(tmp_path, docker, FakeServices(on_request=refuse), timeout=0.2)
    assert isinstance(error, ChatHealthTimeout), output
    assert "the engine says chat is running, starting, exit code 0, 0 restarts" in output


def test_a_restarted_service_is_found_on_its_new_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("smoke.checks.probes.PORT_REFRESH_SECONDS", 0.0)
    docker = FakeDocker(host_ports={"web": 3000, "chat": 18000})  # the old port: refused

    def moved(request: httpx.Request) -> None:
        if request.url.port == 18000:
            docker.host_ports["chat"] = 8000  # chat came back on a new ephemeral port
            raise httpx.ConnectError("connection refused", request=request)

    output, error = run(tmp_path, docker, FakeServices(on_request=moved), timeout=5)
    assert error is None, output
    assert port_lookups(docker, "chat") >= 2


def test_a_wrong_db_password_fails_the_dependency_step_at_once(tmp_path: Path) -> None:
    db = {"status": "error", "reason": "authentication failed", "transient": False}
    body = {"status": "error", "dependencies": {"db": db}}
    services = FakeServices(db_status=503, db_body=body)
    output, error = run(tmp_path, FakeDocker(), services, timeout=3)
    assert isinstance(error, DependencyFailure), output
    assert error.elapsed < 1.5  # at once, not at the 3 s timeout
    assert "authentication failed" in output


# -- teardown and reports shielded from signals ------------------------------------------


def test_a_second_ctrl_c_during_teardown_does_not_stop_it(tmp_path: Path) -> None:
    docker = FakeDocker()
    original_remove = docker.container.remove
    pressed: list[bool] = []

    def remove_interrupted(*args: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C again
        pressed.append(True)
        original_remove(*args, **kwargs)

    docker.container.remove = remove_interrupted
    output, error = run(tmp_path, docker, FakeServices())
    assert pressed  # the teardown's removal was the one interrupted
    assert error is None, output
    assert "SIGINT received: finishing the logs and teardown first" in output
    assert not docker.running
    assert "✓ teardown" in output


def test_reports_are_written_even_if_a_signal_arrives_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = smoke.run.write_metrics

    def interrupted_write(*args: Any) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        written(*args)

    monkeypatch.setattr("smoke.run.write_metrics", interrupted_write)
    metrics = tmp_path / "m.txt"
    _, error = run(tmp_path, FakeDocker(), FakeServices(), metrics_file=metrics)
    assert error is None
    assert "result=passed" in metrics.read_text()


def test_sighup_is_handled_like_sigterm(tmp_path: Path) -> None:
    def hang_up(request: httpx.Request) -> None:
        if request.url.path == "/api/chat/service":
            os.kill(os.getpid(), signal.SIGHUP)

    docker = FakeDocker()
    metrics = tmp_path / "m.txt"
    output, error = run(tmp_path, docker, FakeServices(on_request=hang_up), metrics_file=metrics)
    assert isinstance(error, Interrupted)
    assert (error.signal_name, error.exit_code) == ("SIGHUP", 129)
    assert not docker.running
    assert "✓ teardown" in output
    assert "result=interrupted" in metrics.read_text()
    assert (tmp_path / "e2e-compose.log").exists()


# -- best-effort paths ------------------------------------------------------------------------


def test_logs_that_cannot_be_captured_do_not_block_the_teardown(tmp_path: Path) -> None:
    docker = FakeDocker()
    from tests.unit.fakes import docker_error

    docker.fail["compose logs"] = docker_error("compose logs", 1, "log driver gone")
    output, error = run(tmp_path, docker, FakeServices(proxy_status=500))
    assert isinstance(error, CheckFailed)
    assert "(could not read logs: " in output
    assert "could not write" in output
    assert not docker.running
    assert "✓ teardown" in output


def test_a_report_that_cannot_be_written_is_said_not_fatal(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    output, error = run(tmp_path, FakeDocker(), FakeServices(), metrics_file=blocked / "m.txt")
    assert error is None
    assert f"could not write {blocked / 'm.txt'}" in output


def test_a_reused_kept_stack_gets_this_runs_mark(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    docker = FakeDocker(running=True)
    earlier = Owner(4242, "", "box", datetime.now(UTC) - timedelta(hours=1), True)
    mark(docker, earlier)
    output, error = run(tmp_path, docker, FakeServices(), keep="always")
    assert error is None, output
    owner = Owner.from_labels(docker.volumes["p_smoke-run"])
    assert owner is not None
    assert (owner.pid, owner.kept) == (os.getpid(), True)


def test_no_browser_stops_the_full_run_and_gives_the_project_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.errors import ToolMissing

    def no_browser(env: object = None) -> object:
        raise ToolMissing("no browser", hint="install one")

    monkeypatch.setattr("smoke.checks.browser.find_browser", no_browser)
    docker = FakeDocker()
    _, error = run(tmp_path, docker, FakeServices(), **full(browser=True))
    assert isinstance(error, ToolMissing)
    assert "compose up" not in docker.calls
    assert docker.volumes == {}


def test_an_in_flight_schema_fetch_never_holds_up_the_teardown(tmp_path: Path) -> None:
    import threading

    release = threading.Event()

    def slow_schema(request: httpx.Request) -> None:
        if request.url.path == "/openapi.json":
            release.wait(5)  # chat hangs on its contract while the proxy call fails

    started = clock.monotonic()
    try:
        output, error = run(
            tmp_path, FakeDocker(), FakeServices(proxy_status=500, on_request=slow_schema)
        )
        took = clock.monotonic() - started
    finally:
        release.set()
    assert error is not None
    assert "✓ teardown" in output
    assert took < 3  # not the 5 s the fetch would take
