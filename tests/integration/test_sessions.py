"""The nox sessions for real: smoke, smoke_lite with a kept stack, logs, teardown,
the retry-only mode against a running stack, and two real failures."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from python_on_whales import DockerClient

from tests.conftest import COMPOSE_FILE, RUNBOOK_STEPS, leftovers
from tests.integration.smoke_cli import nox, smoke

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def passed_steps(output: str) -> list[str]:
    return [
        line.split("✓", 1)[1].rsplit(None, 1)[0].strip()
        for line in output.splitlines()
        if line.strip().startswith("✓")
    ]


def running(project: str) -> list[str]:
    return [c for c in leftovers(project) if c.startswith("container")]


def test_smoke_full_passes_and_leaves_nothing(clean_project: str) -> None:
    result = nox("smoke", "--project", clean_project)
    assert result.returncode == 0, result.output
    steps = [s.split("  ")[0] for s in passed_steps(result.output)]
    for step in (*RUNBOOK_STEPS, "web page", "web page (browser)", "conversation persisted"):
        assert step in steps, f"{step} missing from:\n{result.output}"
    assert "✓ response contract" in result.output
    assert "matches chat's /openapi.json" in result.output
    assert "PASS  smoke full" in result.output
    assert leftovers(clean_project) == []


def test_no_browser_stops_the_full_smoke_before_anything_starts(clean_project: str) -> None:
    missing = {"SMOKE_BROWSER": "/nonexistent"}
    direct = smoke("run", "--profile", "full", "--project", clean_project, env=missing)
    assert direct.returncode == 2, direct.output
    (line,) = [line for line in direct.output.splitlines() if line.strip()]
    assert line.startswith("smoke: error: SMOKE_BROWSER=/nonexistent is not an executable")
    assert "apt-get install chromium" in line
    assert "python -m playwright install chromium" in line
    assert "--no-browser" in line
    assert leftovers(clean_project) == []  # nothing started

    through_nox = nox("smoke", "--project", clean_project, env=missing)
    assert through_nox.returncode != 0
    assert "SMOKE_BROWSER=/nonexistent is not an executable" in through_nox.output
    assert leftovers(clean_project) == []

    dropped = nox("smoke", "--project", clean_project, "--no-browser", env=missing)
    assert dropped.returncode == 0, dropped.output
    assert "web page (browser)" not in passed_steps(dropped.output)
    assert "web page (browser) dropped (--no-browser)" in dropped.output
    assert leftovers(clean_project) == []


def test_smoke_lite_keep_then_logs_then_teardown(clean_project: str, tmp_path: Path) -> None:
    result = nox("smoke_lite", "--keep-stack", "--project", clean_project)
    assert result.returncode == 0, result.output
    assert [s.split("  ")[0] for s in passed_steps(result.output)] == list(RUNBOOK_STEPS[:-1])
    assert len(running(clean_project)) == 3

    log_file = tmp_path / "e2e-compose.log"
    logs = nox("logs", "--project", clean_project, "--output", str(log_file))
    assert logs.returncode == 0, logs.output
    text = log_file.read_text()
    for service in ("db", "chat", "web"):
        assert any(line.startswith(f"{service}-1") for line in text.splitlines()), service
    assert "contoso-local-only" not in text  # the db password is masked

    down = nox("teardown", "--project", clean_project)
    assert down.returncode == 0, down.output
    assert "removed 3 containers" in down.output
    assert f"and the run mark ({clean_project}_smoke-run) of project" in down.output
    assert leftovers(clean_project) == []

    again = nox("teardown", "--project", clean_project)
    assert again.returncode == 0
    assert "nothing to remove" in again.output


def test_keep_stack_env_var_keeps_the_stack(clean_project: str) -> None:
    result = nox("smoke_lite", "--project", clean_project, env={"KEEP_STACK": "1"})
    try:
        assert result.returncode == 0, result.output
        assert len(running(clean_project)) == 3
    finally:
        nox("teardown", "--project", clean_project)
    assert leftovers(clean_project) == []


def test_logs_without_a_stack_says_so(project: str, tmp_path: Path) -> None:
    result = smoke("logs", "--project", project, "--output", str(tmp_path / "x.log"))
    assert result.returncode == 2  # environment, not a failed check
    assert f"no stack is running for project {project}" in result.output
    assert not (tmp_path / "x.log").exists()


def test_chat_publishes_a_valid_openapi_document(clean_project: str) -> None:
    from openapi_spec_validator import validate

    kept = smoke("run", "--profile", "lite", "--keep-stack", "--project", clean_project)
    assert kept.returncode == 0, kept.output
    docker = DockerClient(compose_files=[COMPOSE_FILE], compose_project_name=clean_project)
    try:
        chat_port = docker.compose.port("chat", 8000)[1]
        document = httpx.get(f"http://127.0.0.1:{chat_port}/openapi.json").json()
        validate(document)  # raises on an invalid OpenAPI document
        assert document["openapi"].startswith("3.")
        assert "/api/chat" in document["paths"]
    finally:
        smoke("teardown", "--project", clean_project)
    assert leftovers(clean_project) == []


def test_retry_only_against_a_kept_stack_and_db_stopped(clean_project: str) -> None:
    kept = smoke("run", "--profile", "lite", "--keep-stack", "--project", clean_project)
    assert kept.returncode == 0, kept.output
    docker = DockerClient(compose_files=[COMPOSE_FILE], compose_project_name=clean_project)
    web_port = docker.compose.port("web", 3000)[1]
    chat_port = docker.compose.port("chat", 8000)[1]
    urls = (
        "--web-url",
        f"http://127.0.0.1:{web_port}",
        "--chat-url",
        f"http://127.0.0.1:{chat_port}",
    )
    try:
        retry = smoke("run", "--profile", "full", *urls)
        assert retry.returncode == 0, retry.output
        assert "✓ web page (browser)" in retry.output  # the browser step too, by URL
        assert "matches chat's /openapi.json" in retry.output  # and the schema, by URL
        assert "compose up" not in retry.output  # no compose in this mode
        assert len(running(clean_project)) == 3  # and the stack is left alone

        docker.compose.stop(["db"])
        broken = smoke("run", "--profile", "lite", "--timeout", "5", *urls)
        assert broken.returncode == 1, broken.output
        assert "✗ chat dependency health (db)" in broken.output
        assert "failure class: chat dependency health (db)" in broken.output
    finally:
        smoke("teardown", "--project", clean_project)


def test_contract_drift_fails_naming_the_contract(clean_project: str, tmp_path: Path) -> None:
    log_file = tmp_path / "e2e-compose.log"
    result = nox(
        "smoke_lite",
        "--project",
        clean_project,
        "--timeout",
        "30",
        "--log-file",
        str(log_file),
        "--compose-file",
        "docker-compose.yml",
        "--compose-file",
        "tests/compose/chat-drift.yml",
    )
    assert result.returncode == 1, result.output
    assert "✗ response contract" in result.output
    assert "no 'answer' or 'response' field (fields: conversation_id, reply)" in result.output
    assert "failure class: response contract drift" in result.output
    assert "✓ teardown" in result.output
    assert "chat-1" in log_file.read_text()
    assert leftovers(clean_project) == []


def test_bad_option_is_a_usage_error_naming_it() -> None:
    result = nox("smoke_lite", "--keep-stak")
    assert result.returncode != 0
    assert "unrecognized arguments: --keep-stak (see nox -s smoke_lite -- --help)" in result.output


def test_build_prints_image_names_and_sizes(project: str) -> None:
    result = nox("build", "--project", project)
    assert result.returncode == 0, result.output
    for image in (f"{project}-chat:lite", f"{project}-web:latest"):
        line = next(line for line in result.output.splitlines() if line.strip().startswith(image))
        assert line.rstrip().endswith(("MB", "GB")), line


def test_metrics_junit_and_budgets(clean_project: str, tmp_path: Path) -> None:
    metrics, junit = tmp_path / "e2e-metrics.txt", tmp_path / "e2e-junit.xml"
    files = ("--metrics-file", str(metrics), "--junit-xml", str(junit), "--enforce-budgets")
    result = nox("smoke_lite", "--project", clean_project, *files)
    assert result.returncode == 0, result.output
    assert "result=passed" in metrics.read_text().splitlines()
    assert "<testsuite" in junit.read_text()

    over = smoke(
        "run",
        "--profile",
        "lite",
        "--no-build",
        "--project",
        clean_project,
        *files,
        "--max-duration",
        "1",
    )
    assert over.returncode == 3, over.output
    assert "budget exceeded: duration budget:" in over.output
    assert "> 1s" in over.output
    assert "result=over_budget" in metrics.read_text().splitlines()
    assert leftovers(clean_project) == []
