"""Start order and recovery, for real: chat starts beside db and copes with a db that
is late, wrongly configured, gone mid-run or restarted; the smoke's dependency
step is what waits for db, and tells each case apart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from python_on_whales import DockerClient

from tests.conftest import COMPOSE_FILE, ROOT, leftovers
from tests.integration.faultkit import read_until, run_fault, start_fault
from tests.integration.smoke_cli import smoke

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def step_seconds(output: str, step: str) -> float:
    line = next(line for line in output.splitlines() if f"✓ {step}" in line)
    return float(line.split(step, 1)[1].split()[0].rstrip("s"))


def test_db_starting_late_is_waited_for_by_the_dependency_step(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "db-late", args=("--timeout", "30"))
    assert run.returncode == 0, run.output
    assert "✓ chat health" in run.output
    # db was held back 4 s: the dependency step is where the run waited for it, so up
    # did not (had up waited for db, db would have been serving by then).
    assert step_seconds(run.output, "chat dependency health (db)") > 1.5
    assert "db: holding back 4 s" in run.log
    assert leftovers(clean_project) == []


def test_a_wrong_db_password_fails_fast_naming_authentication(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "chat-wrong-password", args=("--timeout", "60"))
    assert run.returncode == 1, run.output
    assert "✗ chat dependency health (db)" in run.output
    assert "authentication failed" in run.output
    assert "failure class: chat dependency health (db)" in run.output
    assert "not ready after" not in run.output  # not a timeout
    assert run.seconds < 30
    assert leftovers(clean_project) == []


def test_db_going_away_mid_run_fails_the_proxied_call(clean_project: str, tmp_path: Path) -> None:
    """web starts late (an override), so the test can stop db between chat's
    dependency check and the proxied question."""
    process = start_fault(clean_project, tmp_path, "web-late", args=("--timeout", "30"))
    seen = read_until(process, "✓ chat dependency health (db)", time.monotonic() + 60)
    docker = DockerClient(
        compose_files=[COMPOSE_FILE, ROOT / "tests/compose/web-late.yml"],
        compose_project_name=clean_project,
    )
    docker.compose.stop(["db"], timeout=2)
    rest, _ = process.communicate(timeout=120)
    output = seen + rest
    assert process.returncode == 1, output
    assert "✗ web -> chat proxy call" in output
    assert "web answered HTTP 503" in output
    assert "database unavailable" in output
    assert "failure class: web -> chat proxy call non-200" in output
    assert "✓ teardown" in output
    assert leftovers(clean_project) == []


def test_db_restarted_under_a_kept_stack_recovers_within_5_seconds(
    clean_project: str, tmp_path: Path
) -> None:
    kept = run_fault(clean_project, tmp_path, args=("--keep-stack",))
    assert kept.returncode == 0, kept.output
    docker = DockerClient(compose_files=[COMPOSE_FILE], compose_project_name=clean_project)
    try:
        chat = "http://127.0.0.1:{}".format(docker.compose.port("chat", 8000)[1])
        web = "http://127.0.0.1:{}".format(docker.compose.port("web", 3000)[1])
        docker.compose.restart(["db"], timeout=2)
        back = time.monotonic()
        ready = answered = None
        while time.monotonic() - back < 15 and answered is None:
            dependencies = httpx.get(f"{chat}/health/dependencies", timeout=5)
            if dependencies.status_code == 200 and ready is None:
                ready = time.monotonic() - back
            if ready is not None:
                question = httpx.post(
                    f"{web}/api/chat/service", json={"question": "a kayak"}, timeout=5
                )
                if question.status_code == 200:
                    answered = time.monotonic() - back
            time.sleep(0.1)
        assert ready is not None, "dependencies never ok again within 15 s"
        assert ready < 5, f"dependencies ok after {ready}s"
        assert answered is not None, "no question answered within 15 s"
        assert answered < 5, f"question answered after {answered}s"
        assert question.json()["sources"][0] == "KAYAK-001"
    finally:
        smoke("teardown", "--project", clean_project)
    assert leftovers(clean_project) == []
