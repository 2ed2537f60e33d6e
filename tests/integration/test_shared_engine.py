"""The suite on a shared engine: a Docker test module, run as a suite run of its own
(its own run prefix), beside another project's kept stack, touches neither that
stack's containers nor its images."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from tests.conftest import PROJECT_LABEL, ROOT, leftovers
from tests.integration.smoke_cli import smoke

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def containers(project: str) -> dict[str, tuple[str, str, str]]:
    """service -> (container id, status, started at)."""
    found = DockerClient().container.list(
        all=True, filters=[("label", f"{PROJECT_LABEL}={project}")]
    )
    return {
        c.config.labels["com.docker.compose.service"]: (
            c.id,
            str(c.state.status),
            str(c.state.started_at),
        )
        for c in found
    }


def images(project: str) -> set[str]:
    built = DockerClient().image.list(filters=[("label", f"{PROJECT_LABEL}={project}")])
    return {image.id for image in built}


def test_a_docker_module_leaves_another_projects_kept_stack_and_images_alone(
    project: str, tmp_path: Path
) -> None:
    kept = smoke("run", "--profile", "lite", "--keep-stack", "--project", project)
    try:
        assert kept.returncode == 0, kept.output
        stack, built = containers(project), images(project)
        assert {status for _, status, _ in stack.values()} == {"running"}
        assert len(built) == 2
        # A suite run of its own: no xdist run id of ours, so a prefix of its own.
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SMOKE_TEST_RUN"))
        }
        suite = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "tests/integration/test_masking.py",
                "-k",
                "dollar",
                "--basetemp",
                str(tmp_path / "suite"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert suite.returncode == 0, suite.stdout + suite.stderr
        assert "1 passed" in suite.stdout
        assert containers(project) == stack  # the same containers, still running
        assert images(project) == built
    finally:
        smoke("teardown", "--project", project)
    assert leftovers(project) == []
