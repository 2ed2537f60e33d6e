"""The run's control flow with docker and HTTP faked: every path tears the stack
down (after writing the logs) unless it is kept, and each fault has its class."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import httpx
import pytest

import smoke.cli as cli
from smoke.errors import (
    ChatHealthTimeout,
    CheckFailed,
    ComposeConfigInvalid,
    ComposeFailed,
    ComposeMissing,
    ContractDrift,
    DependencyFailure,
    DockerUnreachable,
    InternalError,
    Interrupted,
    ProxyCallFailed,
    TeardownIncomplete,
)
from smoke.options import RunOptions
from smoke.report.console import Console
from smoke.run import run_smoke
from smoke.stack.client import docker_verb
from smoke.stack.target import Target
from tests.conftest import RUNBOOK_STEPS
from tests.unit.fakes import (
    PASSWORD,
    FakeDocker,
    FakeServices,
    Terminal,
    docker_error,
    on_fake,
    port_lookups,
    run_options,
)


def options(tmp_path: Path, **overrides: Any) -> RunOptions:
    return run_options(log_file=tmp_path / "e2e-compose.log", **overrides)


def run(
    tmp_path: Path, docker: FakeDocker, services: FakeServices, **overrides: Any
) -> tuple[str, BaseException | None]:
    out = Terminal()
    stack = on_fake(Target("p", (Path("docker-compose.yml"),)), docker)
    error: BaseException | None = None
    try:
        run_smoke(
            options(tmp_path, **overrides),
            console=Console(out, tty=False),
            stack=stack,
            transport=services.transport(),
        )
    except BaseException as exc:  # the tests look at what escaped
        error = exc
    return out.getvalue(), error


def test_pass_runs_the_runbook_steps_then_tears_down(tmp_path: Path) -> None:
    docker = FakeDocker()
    output, error = run(tmp_path, docker, FakeServices())
    assert error is None
    assert docker.calls.index("compose logs") < docker.calls.index("container remove")
    assert not docker.running
    for step in RUNBOOK_STEPS:
        assert f"✓ {step}" in output
    assert "PASS  smoke lite: 6 steps" in output


def test_full_profile_adds_page_and_persistence(tmp_path: Path) -> None:
    services = FakeServices()
    output, error = run(tmp_path, FakeDocker(), services, profile="full", browser=False)
    assert error is None, output
    assert "✓ web page  " in output
    assert "✓ conversation persisted" in output
    assert "web page (browser) dropped (--no-browser)" in output
    assert "GET 8000/api/conversations/c1" in services.requests


def test_keep_stack_leaves_it_running(tmp_path: Path) -> None:
    docker = FakeDocker()
    output, error = run(tmp_path, docker, FakeServices(), keep="always")
    assert error is None
    assert "container remove" not in docker.calls
    assert docker.running
    assert "stack kept (project p)" in output


@pytest.mark.parametrize(
    ("services", "failure", "step"),
    [
        (FakeServices(chat_body={"reply": "x"}), ContractDrift, "response contract"),
        (FakeServices(chat_body={"answer": 1}), ContractDrift, "response contract"),
        (FakeServices(chat_raw="<html>"), ContractDrift, "response contract"),
        (FakeServices(chat_body={"answer": ""}), ContractDrift, "response contract"),
        (FakeServices(proxy_status=502), ProxyCallFailed, "web -> chat proxy call"),
        (FakeServices(db_status=503), DependencyFailure, "chat dependency health (db)"),
    ],
)
def test_a_failed_check_is_classified_logged_and_torn_down(
    tmp_path: Path, services: FakeServices, failure: type[CheckFailed], step: str
) -> None:
    docker = FakeDocker()
    output, error = run(tmp_path, docker, services)
    assert isinstance(error, failure)
    assert error.step == step
    assert f"✗ {step}" in output
    assert f"failure class: {failure.failure_class}" in output
    assert f"hint: {failure.hint}" in output
    assert docker.calls.index("compose logs") < docker.calls.index("container remove")
    assert not docker.running
    assert "✓ teardown" in output
    assert (tmp_path / "e2e-compose.log").read_text().count("ready") == 2


def test_chat_never_healthy_times_out(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> None:
        raise httpx.ConnectError("connection refused", request=request)

    docker = FakeDocker()
    output, error = run(tmp_path, docker, FakeServices(on_request=refuse))
    assert isinstance(error, ChatHealthTimeout)
    assert "last seen: ConnectError: connection refused" in output
    assert not docker.running


def test_a_port_that_appears_late_is_waited_for(tmp_path: Path) -> None:
    docker = FakeDocker(port_failures=3)  # chat restarting: no port for a moment
    output, error = run(tmp_path, docker, FakeServices(), timeout=1.0)
    assert error is None, output
    assert port_lookups(docker, "chat") == 4  # retried, then looked up once
    assert port_lookups(docker, "web") == 1  # beside chat's health


def test_a_port_that_never_appears_is_a_chat_health_timeout(tmp_path: Path) -> None:
    docker = FakeDocker(port_failures=10**6)
    output, error = run(tmp_path, docker, FakeServices())
    assert isinstance(error, ChatHealthTimeout)
    assert "chat has no published port yet" in output
    assert not docker.running


def test_up_failure_keeps_composes_stderr_and_cleans_up(tmp_path: Path) -> None:
    docker = FakeDocker()
    docker.running = True  # `up` created part of the stack before failing
    docker.fail["compose up"] = docker_error("compose up", 1, "Error: db is unhealthy")
    output, error = run(tmp_path, docker, FakeServices())
    assert isinstance(error, ComposeFailed)
    assert error.return_code == 1
    assert error.stderr == "Error: db is unhealthy"
    assert "compose said:" in output
    assert "Error: db is unhealthy" in output
    assert not docker.running


@pytest.mark.parametrize(
    "interrupt",
    [
        Interrupted("SIGTERM", exit_code=143),
        Interrupted("SIGINT", exit_code=130),
        RuntimeError("x"),
    ],
)
def test_interrupts_and_exceptions_still_tear_down(
    tmp_path: Path, interrupt: BaseException
) -> None:
    def blow_up(request: httpx.Request) -> None:
        if request.url.path == "/api/chat/service":
            raise interrupt

    docker = FakeDocker()
    output, error = run(tmp_path, docker, FakeServices(on_request=blow_up))
    if isinstance(interrupt, Interrupted):
        assert error is interrupt
    else:  # an exception inside a check is a failure with a class, caused by it
        assert isinstance(error, InternalError)
        assert error.__cause__ is interrupt
    assert "container remove" in docker.calls
    assert not docker.running
    assert "✓ teardown" in output
    assert (tmp_path / "e2e-compose.log").exists()


def test_interrupt_with_keep_stack_keeps_it(tmp_path: Path) -> None:
    def blow_up(request: httpx.Request) -> None:
        raise Interrupted("SIGINT", exit_code=130)

    docker = FakeDocker()
    _, error = run(tmp_path, docker, FakeServices(on_request=blow_up), keep="always")
    assert isinstance(error, Interrupted)
    assert docker.running


def test_teardown_retries_until_nothing_is_left(tmp_path: Path) -> None:
    docker = FakeDocker(stubborn_downs=1)
    _, error = run(tmp_path, docker, FakeServices())
    assert error is None
    assert docker.calls.count("container remove") == 2
    assert not docker.running


def test_teardown_that_cannot_finish_says_so(tmp_path: Path) -> None:
    docker = FakeDocker(stubborn_downs=99)
    output, error = run(tmp_path, docker, FakeServices())
    assert isinstance(error, TeardownIncomplete)
    assert "✗ teardown" in output


def test_password_never_reaches_output_or_log(tmp_path: Path) -> None:
    output, error = run(tmp_path, FakeDocker(), FakeServices(proxy_status=500))
    assert isinstance(error, ProxyCallFailed)
    log = (tmp_path / "e2e-compose.log").read_text()
    assert PASSWORD not in output + log
    assert "password ****" in log


@pytest.mark.parametrize(
    ("failing", "problem"),
    [
        ("info", DockerUnreachable),
        ("compose", ComposeMissing),
        ("compose config", ComposeConfigInvalid),
    ],
)
def test_environment_problems_stop_before_anything_starts(
    tmp_path: Path, failing: str, problem: type[Exception]
) -> None:
    docker = FakeDocker()
    # Without the plugin every compose command fails, version and config alike.
    for name in ("compose version", "compose config") if failing == "compose" else (failing,):
        docker.fail[name] = docker_error(name)
    _, error = run(tmp_path, docker, FakeServices())
    assert isinstance(error, problem)
    assert "compose up" not in docker.calls
    assert "container remove" not in docker.calls
    assert docker.volumes == {}  # a claim made beside the checks is given back


# -- exit statuses, through main() ------------------------------------------------


@pytest.fixture
def fake_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeDocker:
    docker = FakeDocker(project="contoso-smoke")  # the CLI's default project
    monkeypatch.setattr("smoke.stack.client.DockerClient", lambda **kwargs: docker)
    monkeypatch.setattr("smoke.stack.compose.Inspector", lambda client: client.inspector)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    for name in ("KEEP_STACK", "CHAT_INSTALL_LOCAL_STACK", "COMPOSE_PROJECT_NAME"):
        monkeypatch.delenv(name, raising=False)
    return docker


def test_exit_2_for_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--timeout", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("smoke: error: argument --timeout")


def test_exit_2_for_a_missing_compose_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run"]) == 2
    assert "compose file not found: docker-compose.yml" in capsys.readouterr().err


def test_exit_2_when_the_engine_is_unreachable(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.fail["info"] = docker_error("info")
    assert cli.main(["run", "--profile", "lite"]) == 2  # the engine, not the browser
    err = capsys.readouterr().err
    assert "is unreachable (docker info exited 1)" in err
    assert err.count("\n") == 1


def test_exit_0_for_teardown_with_nothing_to_remove(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["teardown"]) == 0
    assert "nothing to remove for project contoso-smoke" in capsys.readouterr().out
    assert "container remove" not in fake_docker.calls


def test_teardown_says_what_it_removed(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.running = True
    assert cli.main(["teardown"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "teardown: removed 3 containers (contoso-smoke-chat-1, contoso-smoke-db-1, "
        "contoso-smoke-web-1), 1 network (contoso-smoke_default) of project contoso-smoke\n"
    )
    assert not fake_docker.running


def test_logs_without_a_stack_exit_2(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["logs"]) == 2
    assert "no stack is running for project contoso-smoke" in capsys.readouterr().err


def test_logs_of_a_kept_stack_are_masked(fake_docker: FakeDocker, tmp_path: Path) -> None:
    fake_docker.running = True
    assert cli.main(["logs", "--output", "out/e2e.log"]) == 0
    text = (tmp_path / "out/e2e.log").read_text()
    assert "db-1" in text
    assert PASSWORD not in text


def test_an_unexpected_docker_failure_is_one_line_exit_1(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.running = True
    fake_docker.fail["container remove"] = docker_error("rm", 125, "daemon went away")
    fake_docker.fail["compose down"] = docker_error("compose down", 125, "daemon went away")
    assert cli.main(["teardown"]) == 1
    err = capsys.readouterr().err
    assert err == "smoke: error: `docker compose down` exited 125: daemon went away\n"


def test_docker_verb_skips_global_flags() -> None:
    command = ["/usr/bin/docker", "compose", "--file", "a.yml", "--project-name", "p", "down", "-v"]
    assert docker_verb(command) == "docker compose down"


def test_a_failed_build_shows_what_compose_said(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.fail["compose build"] = docker_error("compose build", 1, "pip: no such version")
    assert cli.main(["build"]) == 1
    out = capsys.readouterr().out
    assert "build failed (exit 1)" in out
    assert "pip: no such version" in out


def test_a_teardown_that_leaves_things_says_what_and_never_says_removed(tmp_path: Path) -> None:
    docker = FakeDocker(stubborn_downs=99)
    output, error = run(tmp_path, docker, FakeServices())
    assert isinstance(error, TeardownIncomplete)
    assert (
        "    still present after 3 attempts: 3 containers (p-chat-1, p-db-1, p-web-1), "
        "1 network (p_default)"
    ) in output
    assert f"    hint: {TeardownIncomplete.hint}" in output
    summary = next(line for line in output.splitlines() if line.startswith(("PASS", "FAIL")))
    assert "stack removed" not in summary
    assert "; stack NOT fully removed: `nox -s teardown -- --project p`" in summary


def test_a_failed_check_stays_the_news_when_the_teardown_also_fails(tmp_path: Path) -> None:
    docker = FakeDocker(stubborn_downs=99)
    output, error = run(tmp_path, docker, FakeServices(proxy_status=502))
    assert isinstance(error, ProxyCallFailed)
    assert "failure class: teardown incomplete" in output
    summary = next(line for line in output.splitlines() if line.startswith(("PASS", "FAIL")))
    assert summary.startswith("FAIL  smoke lite: web -> chat proxy call failed")
    assert "stack NOT fully removed" in summary


def test_a_note_from_the_options_is_said_once_at_the_start(tmp_path: Path) -> None:
    output, error = run(tmp_path, FakeDocker(), FakeServices(), notes=("not used here",))
    assert error is None, output
    assert output.splitlines()[1] == "smoke: note: not used here"
    assert output.count("not used here") == 1


def test_a_step_that_judges_another_ones_answer_is_explained_from_that_trace() -> None:
    """The contract makes no request: its failure names the proxy call's trace."""
    import io

    from smoke.errors import ContractDrift
    from smoke.plan import STEPS, Step
    from smoke.run import _run_step
    from smoke.steps import StepRunner

    contract = next(step for step in STEPS if step.name == "response contract")
    assert contract.judges == "web -> chat proxy call"

    def drifted(context: Any) -> None:
        raise ContractDrift("response contract drift: not JSON")

    runner = StepRunner(Console(io.StringIO(), tty=False))
    context = cast(Any, type("Ctx", (), {"results": {}})())
    for step, judged in (
        (Step("response contract", drifted, judges=contract.judges), contract.judges),
        (Step("web page", drifted), None),
    ):
        with pytest.raises(ContractDrift) as caught:
            _run_step(step, context, runner)
        assert caught.value.judged_step == judged


def test_stopping_the_checks_cancels_their_queued_work_and_waits_for_none() -> None:
    """Ctrl-C: what the steps left running in their pools is neither waited for nor
    started; a listing not done is no listing."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from smoke.run import _PlanChecks

    release = threading.Event()
    pool, waits = ThreadPoolExecutor(max_workers=1), ThreadPoolExecutor(max_workers=1)
    try:
        busy = pool.submit(release.wait, 10)
        queued = pool.submit(lambda: "never")
        waiting = waits.submit(release.wait, 10)
        queued_wait = waits.submit(lambda: "never")
        checks = _PlanChecks(cast(Any, None))
        checks._context = cast(
            Any, SimpleNamespace(pool=pool, waits=waits, background={"resources": busy})
        )
        assert checks.stop() is None  # returned at once, the listing not done
        assert [f.cancelled() for f in (queued, queued_wait)] == [True, True]
        assert [f.done() for f in (busy, waiting)] == [False, False]
    finally:
        release.set()
        pool.shutdown()
        waits.shutdown()
