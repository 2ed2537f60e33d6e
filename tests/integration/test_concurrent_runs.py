"""Runs side by side, for real: a kept stack reused by the next run of its project,
two runs of one project started together (one runs, the other is refused and touches
nothing), and three projects at once."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from tests.conftest import RUN_PREFIX, leftovers, remove_images
from tests.integration.faultkit import build, run_fault, start_fault

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def containers(project: str) -> dict[str, tuple[str, str]]:
    """name -> (id, started at) of the project's containers."""
    found = DockerClient().container.list(
        all=True, filters=[("label", f"com.docker.compose.project={project}")]
    )
    return {c.name: (c.id, str(c.state.started_at)) for c in found}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_second_run_reuses_a_kept_stack(clean_project: str, tmp_path: Path) -> None:
    """On fixed ports: the kept stack holds them itself, so the next run of the same
    project must not take them for someone else's (no "port already in use")."""
    ports = {"SMOKE_WEB_PORT": str(free_port()), "SMOKE_CHAT_PORT": str(free_port())}
    kept = run_fault(clean_project, tmp_path, args=("--keep-stack",), **ports)
    assert kept.returncode == 0, kept.output
    before = containers(clean_project)
    assert len(before) == 3
    again = run_fault(clean_project, tmp_path, args=("--keep-stack",), **ports)
    assert again.returncode == 0, again.output
    assert containers(clean_project) == before  # the same containers, not recreated
    last = run_fault(clean_project, tmp_path, **ports)
    assert last.returncode == 0, last.output
    assert leftovers(clean_project) == []


def test_two_runs_of_one_project_started_together_exactly_one_runs(
    clean_project: str, tmp_path: Path
) -> None:
    """Six times, two runs of the same project started at the same instant (or 0.1 s
    and 0.2 s apart, where the old guard raced): one passes, the other exits 2 "in
    use" and touches nothing of the first's. The claim is the engine's atomic volume
    create, so each offset is tried twice, not left to chance."""
    build("--project", clean_project)  # then both take --no-build: the race is the claim
    for attempt in range(6):
        delay = (0.0, 0.1, 0.2)[attempt % 3]
        runs = []
        for index in range(2):
            workdir = tmp_path / f"{attempt}-{index}"
            workdir.mkdir()
            runs.append(start_fault(clean_project, workdir, args=("--no-build",)))
            if index == 0 and delay:
                time.sleep(delay)
        outputs = [p.communicate(timeout=120)[0] for p in runs]
        codes = sorted(p.returncode for p in runs)
        assert codes == [0, 2], f"attempt {attempt} (+{delay}s): {outputs}"
        winner, loser = (outputs[0], outputs[1]) if runs[0].returncode == 0 else outputs[::-1]
        assert "PASS  smoke lite" in winner
        assert "stack removed" in winner
        (line,) = [line for line in loser.splitlines() if line.strip()]
        assert line.startswith(f"smoke: error: project {clean_project} is in use by a running")
        assert leftovers(clean_project) == []


def test_three_runs_in_parallel(tmp_path: Path) -> None:
    projects = [f"{RUN_PREFIX}-par-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    processes = []
    for project in projects:
        workdir = tmp_path / project
        workdir.mkdir()
        processes.append(start_fault(project, workdir))
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    try:
        for process, output in zip(processes, outputs, strict=True):
            assert process.returncode == 0, output
            assert "PASS  smoke lite" in output
    finally:
        left = {project: leftovers(project) for project in projects}
        for project in projects:
            remove_images(project)  # each built its own, as a project does
    assert all(not items for items in left.values()), left
