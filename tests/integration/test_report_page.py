"""The report page as a person opens it: a real lite run with a chat 6 s late,
rendered in headless Chromium at 1400 by 900."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, leftovers
from tests.integration.faultkit import run_fault

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]

SCRIPT = """
import json, os, sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append("fetch " + r.url) if r.url != sys.argv[1] else None)
    page.goto(sys.argv[1], wait_until="load")
    visible = [r.inner_text() for r in page.locator(".row").all() if r.is_visible()]
    print(json.dumps({
        "errors": errors,
        "height": page.evaluate("document.documentElement.scrollHeight"),
        "ticks": page.locator(".tick").count(),
        "visible": visible,
    }))
    browser.close()
"""


def rendered(page: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


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
