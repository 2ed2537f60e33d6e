"""The report page as a person opens it: a real lite run with a chat 6 s late,
rendered in headless Chromium at 1400 by 900."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import leftovers
from tests.integration.faultkit import run_fault
from tests.integration.report_page import rendered

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def test_a_late_chats_report_reads_at_a_glance(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, "chat-late-loose-health", args=("--timeout", "30"))
    assert run.returncode == 0, run.output
    shown = rendered(tmp_path / "e2e-report.html")
    assert shown["errors"] == []  # no console error, no request
    assert shown["ticks"] >= 3  # a ruler
    assert shown["height"] <= 2 * 900  # within two screens
    steps = [line.split()[1:] for line in run.output.splitlines() if line.startswith("  ✓ ")]
    visible = [" ".join(text.split()) for text in shown["visible"]]
    for step in ("compose up", "chat health", "web -> chat proxy call"):
        row = next(text for text in visible if text.startswith(step))
        assert row.endswith((" ms", " s")), row  # its duration, as text
    health_tries = [
        text for text in visible if "GET /health" in text and "dependencies" not in text
    ]
    assert 1 <= len(health_tries) <= 3, health_tries  # folded, not one row a try
    assert any("×" in text for text in health_tries)  # the fold says how many
    assert steps  # the run said its steps too
    assert leftovers(clean_project) == []
