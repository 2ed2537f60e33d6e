"""Keep the benchmark script working: one quick run, through its nox session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RUN_PREFIX
from tests.integration.smoke_cli import nox

pytestmark = pytest.mark.docker

FIGURES = (
    "harness / raw",
    "nox smoke_lite / raw",
    "reaper cost (s)",
    "compose up (s)",
    "teardown (s)",
    "readiness lag (s)",
    "floor: db alone ready (s)",
    "floor: a service alone ready (s)",
    "floor: down of the bare stack (s)",
    "browser step (s)",
    "model ready (s)",
    "model ready, slowest (s)",
    "retrieval p95 (ms)",
    "new project's first build (s)",
    "tracing: warm lite smoke added (s)",
    "trace specs: warm lite smoke added (s)",
    "trace specs: judging, in the run (s)",
    "harness --no-build / --no-trace",
    "tracing: chat start-up added (s)",
    "tracing: web start-up added (s)",
    "tracing: chat db instrumentation, off the critical path (s)",
    "full profile added to lite (s)",
    "warm overhead over the lean run (s)",
    "rebuild after a dependency change: web, this commit (s)",
    "rebuild after a dependency change: chat lite, this commit (s)",
    "rebuild after a dependency change: chat local, this commit (s)",
    "rebuild after a code change: chat lite, this commit (s)",
    "model ready, this commit (s)",
)


def test_bench_one_run_reports_every_figure(tmp_path: Path) -> None:
    # Its projects carry this run's prefix: never a developer's own bench's.
    result = nox(
        "bench",
        "--runs",
        "1",
        "--skip-cold",
        "--out",
        str(tmp_path),
        env={"SMOKE_BENCH_PREFIX": f"{RUN_PREFIX}-bench"},
    )
    assert result.returncode == 0, result.output
    for figure in FIGURES:
        assert f"| {figure} |" in result.output
    scenarios = ("raw compose", "lean:", "testcontainers", "pytest-docker style", "--profile full")
    for scenario in scenarios:
        assert scenario in result.output
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["runs"] == 1
    assert data["figures"]["harness / raw"] > 0
    assert 0 < data["figures"]["retrieval p95 (ms)"] < 10_000
    assert 0 < data["figures"]["tracing: chat start-up added (s)"] < 5
    assert (tmp_path / "bench.md").read_text().startswith("# contoso-smoke benchmark")
