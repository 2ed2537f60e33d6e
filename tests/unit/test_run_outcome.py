"""What a finished run says and leaves: the summary line, the reports it writes
through run_smoke (metrics, JUnit, GitHub's step summary and annotation), budgets,
and the same for a stack given by URL."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from smoke.errors import (
    BudgetExceeded,
    ComposeFailed,
    DependencyFailure,
    InternalError,
    ServicesMissing,
)
from smoke.outcome import Budgets, Outcome
from smoke.report.console import Console
from smoke.run import run_smoke
from smoke.stack.compose import Stack
from smoke.stack.target import Target
from tests.unit.fakes import FakeDocker, FakeServices, on_fake, own_project, run_options
from tests.unit.test_run import Terminal

STEPS = 6  # the lite profile: compose up ... teardown


def smoke(
    tmp_path: Path,
    services: FakeServices,
    *,
    docker: FakeDocker | None = None,
    env: dict[str, str] | None = None,
    files: tuple[str, ...] = ("docker-compose.yml",),
    **overrides: Any,
) -> tuple[str, Outcome | BaseException]:
    out = Terminal()
    docker = docker or FakeDocker()
    target = Target(docker.project, tuple(Path(f) for f in files))
    options = run_options(log_file=tmp_path / "e2e-compose.log", target=target, **overrides)
    stack = None
    if options.stack.uses_compose:
        stack = on_fake(target, docker)
    result: Outcome | BaseException
    try:
        result = run_smoke(
            options,
            console=Console(out, tty=False),
            stack=stack,
            transport=services.transport(),
            env=env or {},
        )
    except BaseException as exc:  # the tests look at what escaped
        result = exc
    return out.getvalue(), result


def summary_line(output: str) -> str:
    return next(line for line in output.splitlines() if re.match(r"(PASS|FAIL|STOPPED)  ", line))


def metrics(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_a_pass_writes_every_report_with_the_costs(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"}
    output, outcome = smoke(
        tmp_path,
        FakeServices(),
        env=env,
        metrics_file=tmp_path / "m.txt",
        junit_xml=tmp_path / "j.xml",
    )
    assert isinstance(outcome, Outcome)
    assert output.splitlines()[0] == "smoke: profile lite, project p"
    log = tmp_path / "e2e-compose.log"
    assert re.fullmatch(
        rf"PASS  smoke lite: {STEPS} steps in \d+\.\ds; stack removed;"
        rf" logs in {re.escape(str(log))}",
        summary_line(output),
    )
    assert "::error" not in output
    found = metrics(tmp_path / "m.txt")
    assert (found["result"], found["profile"], found["project"]) == ("passed", "lite", "p")
    assert (found["chat_image_bytes"], found["web_image_bytes"]) == ("123000000", "111000000")
    assert found["docker_storage_driver"] == "overlay2"
    assert 0 < float(found["duration_seconds"]) < 60
    assert found["budgets_exceeded"] == ""
    traced = {k: v for k, v in found.items() if k.endswith("_trace_id")}
    assert set(traced) == {
        f"step_{k}_trace_id"
        for k in (
            "chat_health",
            "chat_dependency_health_db",
            "web_chat_proxy_call",
            "response_contract",
            "compose_up",
            "teardown",
        )
    }
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in traced.values())
    assert len(set(traced.values())) == len(traced)  # a trace per step
    suite = ET.parse(tmp_path / "j.xml").getroot()[0]
    assert suite.get("name") == "smoke.lite"
    assert suite.get("failures") == "0"
    started = datetime.fromisoformat(str(suite.get("timestamp")))
    assert started.tzinfo is not None
    assert abs((datetime.now(UTC) - started).total_seconds()) < 60
    assert [c.get("name") for c in suite][:STEPS] == list(outcome.planned_steps)
    assert summary.read_text().startswith("### Integration smoke (lite): passed")
    assert "| chat_image | 123.0 MB | 2.50 GB | ✅ |" in summary.read_text()


def test_costs_are_measured_only_when_something_reports_them(tmp_path: Path) -> None:
    docker = FakeDocker()
    _, outcome = smoke(tmp_path, FakeServices(), docker=docker)
    assert isinstance(outcome, Outcome)
    assert "image inspect" not in docker.calls
    assert (outcome.chat_image_bytes, outcome.web_image_bytes) == (None, None)
    for reported in (
        {"junit_xml": tmp_path / "j.xml"},
        {"enforce_budgets": True},
        {"env": {"GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")}},
    ):
        _, outcome = smoke(tmp_path, FakeServices(), **reported)
        assert isinstance(outcome, Outcome)
        assert (outcome.chat_image_bytes, outcome.web_image_bytes) == (123_000_000, 111_000_000)


def test_the_local_stacks_image_is_the_one_measured(tmp_path: Path) -> None:
    services = FakeServices(health={"status": "ok", "stack": "local", "model": "m", "dim": 384})
    smoke(
        tmp_path,
        services,
        profile="full",
        browser=False,
        install_local_stack=True,
        metrics_file=tmp_path / "m.txt",
    )
    assert metrics(tmp_path / "m.txt")["chat_image_bytes"] == "345000000"


def test_a_failure_is_summed_up_reported_and_annotated(tmp_path: Path) -> None:
    env = {"GITHUB_ACTIONS": "true"}
    output, error = smoke(
        tmp_path,
        FakeServices(db_status=503),
        env=env,
        metrics_file=tmp_path / "m.txt",
        junit_xml=tmp_path / "j.xml",
    )
    assert isinstance(error, DependencyFailure)
    line = summary_line(output)
    assert re.fullmatch(
        r"FAIL  smoke lite: chat dependency health \(db\) failed \(4 steps run\) in \d+\.\ds;"
        r" stack removed; logs in .*e2e-compose\.log",
        line,
    )
    title = "::error title=smoke: chat dependency health (db)::"
    assert f"{title}chat dependency health (db): " in output
    found = metrics(tmp_path / "m.txt")
    assert (found["result"], found["failed_step"]) == ("failed", "chat dependency health (db)")
    assert found["failure_class"] == "chat dependency health (db)"
    failure = ET.parse(tmp_path / "j.xml").getroot().find(".//failure")
    assert failure is not None
    assert failure.get("type") == "chat dependency health (db)"


def test_an_unexpected_error_in_a_check_is_a_failure_with_its_class_in_every_report(
    tmp_path: Path,
) -> None:
    def explode(request: httpx.Request) -> None:
        if request.url.path == "/api/chat/service":
            raise RuntimeError("proxy exploded")

    docker = FakeDocker()
    output, error = smoke(
        tmp_path,
        FakeServices(on_request=explode),
        docker=docker,
        metrics_file=tmp_path / "m.txt",
        junit_xml=tmp_path / "j.xml",
    )
    assert isinstance(error, InternalError)
    assert "Traceback" not in output
    assert "    RuntimeError: proxy exploded" in output
    assert "    failure class: smoke internal error" in output
    assert "the traceback is at the end of the log file" in output
    assert re.fullmatch(
        r"FAIL  smoke lite: web -> chat proxy call failed \(5 steps run\) in \d+\.\ds;"
        r" stack removed; logs in .*",
        summary_line(output),
    )
    assert not docker.running
    found = metrics(tmp_path / "m.txt")
    assert (found["result"], found["failed_step"]) == ("failed", "web -> chat proxy call")
    assert found["failure_class"] == "smoke internal error"
    failure = ET.parse(tmp_path / "j.xml").getroot().find(".//failure")
    assert failure is not None
    assert failure.get("type") == "smoke internal error"
    log = (tmp_path / "e2e-compose.log").read_text()
    assert log.split("smoke internal error in web -> chat proxy call:\n")[1].startswith(
        "Traceback (most recent call last):"
    )
    assert log.rstrip().endswith("RuntimeError: proxy exploded")


def test_enforced_budgets_fail_a_passing_run_naming_each_budget(tmp_path: Path) -> None:
    budgets = Budgets(max_duration_seconds=420, max_chat_image_bytes=100, max_web_image_bytes=50)
    env = {"GITHUB_ACTIONS": "true"}
    output, error = smoke(
        tmp_path,
        FakeServices(),
        env=env,
        budgets=budgets,
        enforce_budgets=True,
        metrics_file=tmp_path / "m.txt",
    )
    assert isinstance(error, BudgetExceeded)
    assert str(error) == (
        "budget exceeded: chat_image budget: 123.0 MB > 0.0 MB; web_image budget: 111.0 MB > 0.0 MB"
    )
    assert (error.budget, error.measured, error.limit) == ("chat_image", 123_000_000, 100)
    assert re.fullmatch(
        rf"FAIL  smoke lite: {STEPS} steps passed but over budget in \d+\.\ds; stack removed;"
        r" logs in .*; over budget: chat_image, web_image",
        summary_line(output),
    )
    assert "::error title=smoke: budget exceeded::chat_image budget" in output
    found = metrics(tmp_path / "m.txt")
    assert (found["result"], found["budgets_exceeded"]) == ("over_budget", "chat_image,web_image")


def test_budgets_not_enforced_are_reported_and_the_run_passes(tmp_path: Path) -> None:
    budgets = Budgets(max_duration_seconds=420, max_chat_image_bytes=100)
    output, outcome = smoke(
        tmp_path, FakeServices(), budgets=budgets, metrics_file=tmp_path / "m.txt"
    )
    assert isinstance(outcome, Outcome)
    assert outcome.result == "passed"
    assert summary_line(output).endswith("; over budget: chat_image")
    assert summary_line(output).startswith("PASS  ")
    assert metrics(tmp_path / "m.txt")["budgets_exceeded"] == "chat_image"


def test_a_failed_run_is_not_called_over_budget(tmp_path: Path) -> None:
    budgets = Budgets(max_duration_seconds=420, max_chat_image_bytes=100)
    _, error = smoke(
        tmp_path,
        FakeServices(proxy_status=502),
        budgets=budgets,
        enforce_budgets=True,
        metrics_file=tmp_path / "m.txt",
    )
    assert not isinstance(error, BudgetExceeded)
    assert metrics(tmp_path / "m.txt")["result"] == "failed"


def test_a_kept_failure_names_each_compose_file_in_how_to_look(tmp_path: Path) -> None:
    output, _ = smoke(
        tmp_path,
        FakeServices(proxy_status=502),
        files=("docker-compose.yml", "override.yml"),
        keep="on-failure",
    )
    assert "; stack kept because it failed (project p)" in summary_line(output)
    assert (
        "  inspect it:  docker compose -p p -f docker-compose.yml -f override.yml ps -a" in output
    )
    assert "  its logs:    nox -s logs -- --project p" in output
    assert "  remove it:   nox -s teardown -- --project p" in output


def test_a_kept_pass_says_how_to_get_logs_and_remove_it(tmp_path: Path) -> None:
    output, _ = smoke(tmp_path, FakeServices(), keep="always")
    assert summary_line(output).endswith(
        f"; stack kept (project p): `nox -s logs`, `nox -s teardown`; "
        f"logs in {tmp_path / 'e2e-compose.log'}"
    )
    assert "inspect it:" not in output


URLS = {"web_url": "http://127.0.0.1:3000", "chat_url": "http://127.0.0.1:8000"}


def test_url_mode_checks_the_given_stack_and_touches_no_compose(tmp_path: Path) -> None:
    services = FakeServices()
    output, outcome = smoke(tmp_path, services, metrics_file=tmp_path / "m.txt", **URLS)
    assert isinstance(outcome, Outcome)
    assert output.splitlines()[0] == "smoke: profile lite, web http://127.0.0.1:3000"
    assert re.fullmatch(r"PASS  smoke lite: 4 steps in \d+\.\ds", summary_line(output))
    assert "GET 8000/health" in services.requests
    assert "POST 3000/api/chat/service" in services.requests
    found = metrics(tmp_path / "m.txt")
    assert (found["project"], found["docker_storage_driver"]) == ("", "")


def test_url_mode_failures_are_explained_and_reported(tmp_path: Path) -> None:
    output, error = smoke(
        tmp_path, FakeServices(proxy_status=502), metrics_file=tmp_path / "m.txt", **URLS
    )
    assert error is not None
    assert "failure class: web -> chat proxy call non-200" in output
    assert re.fullmatch(
        r"FAIL  smoke lite: web -> chat proxy call failed \(3 steps run\) in \d+\.\ds",
        summary_line(output),
    )
    assert metrics(tmp_path / "m.txt")["result"] == "failed"


@pytest.mark.parametrize("blocked", ["junit_xml", "metrics_file"])
def test_each_report_that_cannot_be_written_is_named(tmp_path: Path, blocked: str) -> None:
    wall = tmp_path / "a-file"
    wall.write_text("")
    output, outcome = smoke(tmp_path, FakeServices(), **{blocked: wall / "r.txt"})
    assert isinstance(outcome, Outcome)
    assert f"could not write {wall / 'r.txt'}: " in output


def test_a_step_summary_that_cannot_be_written_is_said(tmp_path: Path) -> None:
    env = {"GITHUB_STEP_SUMMARY": str(tmp_path), "GITHUB_ACTIONS": "true"}  # a directory
    output, error = smoke(tmp_path, FakeServices(proxy_status=502), env=env)
    assert error is not None
    assert "could not write the GitHub step summary: " in output
    assert "::error" not in output


def test_a_run_without_a_given_stack_makes_one_with_its_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    made: list[tuple[Target, object]] = []

    def make(target: Target, *, env: object) -> Stack:
        made.append((target, env))
        return on_fake(target, FakeDocker())

    monkeypatch.setattr("smoke.lifecycle.Stack", make)
    env = {"SMOKE_X": "1"}
    outcome = run_smoke(
        run_options(log_file=tmp_path / "e2e-compose.log"),
        console=Console(Terminal(), tty=False),
        transport=FakeServices().transport(),
        env=env,
    )
    assert outcome.result == "passed"
    assert [t.project for t, _ in made] == ["p"]
    assert made[0][1] is env


def test_a_stale_stack_from_another_host_is_judged_by_the_duration_budget(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from smoke.stack.claim import Owner

    docker = FakeDocker(running=True)
    started = datetime.now(UTC) - timedelta(minutes=10)
    owner = Owner(4242, "", "elsewhere.example", started, False)
    docker.volumes["p_smoke-run"] = owner.labels("p")
    output, outcome = smoke(tmp_path, FakeServices(), docker=docker)
    assert isinstance(outcome, Outcome), output
    assert output.startswith("smoke: stale stack of project p")
    budget = Budgets(max_duration_seconds=3600)
    docker.running = True
    docker.volumes["p_smoke-run"] = owner.labels("p")
    _, error = smoke(tmp_path, FakeServices(), docker=docker, budgets=budget)
    assert type(error).__name__ == "ProjectInUse"


def test_a_url_run_starts_no_reaper_and_marks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.stack import claim as guard

    started: list[object] = []
    monkeypatch.setattr(guard.reaper_module, "start", lambda *a: started.append(a))
    _, outcome = smoke(tmp_path, FakeServices(), reaper=True, **URLS)
    assert isinstance(outcome, Outcome)
    assert started == []


def test_a_run_claims_its_project_once_and_gives_it_up_after_the_teardown(
    tmp_path: Path,
) -> None:
    docker = FakeDocker()
    smoke(tmp_path, FakeServices(), docker=docker)
    marks = [(name, args) for name, args, _ in docker.asked if name.startswith("volume")]
    assert marks == [
        ("volume create", ("p_smoke-run",)),  # read back as created: whose mark it is
        ("volume list", ()),  # what `up` made, listed beside the checks
        ("volume list", ()),  # the teardown's check that nothing is left
        ("volume list", ()),  # the project's marks, once its stack is gone
        ("volume remove", marks[-1][1]),
    ]
    (removed,) = marks[-1][1]
    assert [volume.name for volume in removed] == ["p_smoke-run"]
    assert docker.calls.index("volume remove") > docker.calls.index("container remove")
    assert docker.volumes == {}


def test_a_run_stopped_by_a_bare_keyboard_interrupt_says_stopped(tmp_path: Path) -> None:
    def interrupt(request: httpx.Request) -> None:
        if request.url.path == "/api/chat/service":
            raise KeyboardInterrupt

    docker = FakeDocker()
    output, error = smoke(tmp_path, FakeServices(on_request=interrupt), docker=docker)
    assert isinstance(error, KeyboardInterrupt)
    assert summary_line(output).startswith("STOPPED  smoke lite: stopped (5 steps run) in ")
    assert not docker.running


def test_a_url_run_kept_on_failure_has_no_stack_to_inspect(tmp_path: Path) -> None:
    output, error = smoke(tmp_path, FakeServices(proxy_status=502), keep="on-failure", **URLS)
    assert error is not None
    assert "inspect it:" not in output
    assert "kept" not in summary_line(output)


def test_one_step_run_is_said_as_one(tmp_path: Path) -> None:
    """compose up fails and the stack is kept for inspection: no teardown step."""
    from tests.unit.fakes import docker_error

    docker = FakeDocker()
    docker.fail["compose up"] = docker_error("compose up", 1, "Error: boom")
    output, outcome = smoke(tmp_path, FakeServices(), docker=docker, keep="on-failure")
    assert isinstance(outcome, ComposeFailed)
    assert summary_line(output).startswith("FAIL  smoke lite: compose up failed (1 step run) in ")


def test_a_kept_stack_says_where_web_and_chat_answer(tmp_path: Path) -> None:
    output, outcome = smoke(tmp_path, FakeServices(), docker=FakeDocker(), keep="always")
    assert isinstance(outcome, Outcome), output
    after = output.split(summary_line(output))[1].splitlines()
    assert [line for line in after if "http://" in line] == [
        "  web:        http://127.0.0.1:3000/",
        "  chat:       http://127.0.0.1:8000/",
    ]
    removed, _ = smoke(tmp_path, FakeServices(), docker=FakeDocker())
    assert "http://" not in removed.split(summary_line(removed))[1]  # gone: no URL to give


def test_specs_without_spans_to_judge_are_said_not_judged_and_why(tmp_path: Path) -> None:
    from smoke.trace.specs import BUILT_IN

    output, outcome = smoke(
        tmp_path,
        FakeServices(),
        web_url="http://127.0.0.1:3000",
        chat_url="http://127.0.0.1:8000",
        specs=(BUILT_IN,),
    )
    assert isinstance(outcome, Outcome), output
    assert (
        "  trace specs: not judged: a stack this run did not start sends it no span "
        "(--web-url/--chat-url)"
    ) in output.splitlines()
    off, _ = smoke(tmp_path, FakeServices(), specs=(), specs_off="--no-specs")
    assert "  trace specs: not judged: --no-specs" in off.splitlines()


def test_each_spec_judged_is_a_testcase_of_its_own_in_the_junit(tmp_path: Path) -> None:
    from smoke.trace.specs import BUILT_IN

    output, outcome = smoke(
        tmp_path,
        FakeServices(),
        docker=FakeDocker(project=own_project()),  # its spans: a receiver of its own
        specs=(BUILT_IN,),
        junit_xml=tmp_path / "junit.xml",
    )
    assert isinstance(outcome, Outcome), output
    assert "  trace specs: 1 spec held over 5 passing steps" in output.splitlines()
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite[@name='smoke.lite.specs']")
    assert suite is not None
    assert [case.get("name") for case in suite] == [BUILT_IN.name]


def test_a_compose_file_without_web_stops_the_smoke_before_anything_starts(
    tmp_path: Path,
) -> None:
    docker = FakeDocker()
    del docker.fixed_model()["services"]["web"]
    output, outcome = smoke(tmp_path, FakeServices(), docker=docker)
    assert isinstance(outcome, ServicesMissing), output
    assert str(outcome).startswith("the compose file has no service web (services: chat, db)")
    assert "compose up" not in docker.calls
