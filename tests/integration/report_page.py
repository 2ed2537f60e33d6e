"""The run's `e2e-report.html` as a person opens it: headless Chromium at 1400 by 900,
what the page shows, and whether it logged an error or asked for anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

_SCRIPT = """
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
    print(json.dumps({
        "errors": errors,
        "steps": page.locator(".bar.step").count(),
        "containers": page.locator(".bar.container").count(),
        "failed": page.locator(".row.step.failed").count(),
        "height": page.evaluate("document.documentElement.scrollHeight"),
        "ticks": page.locator(".tick").count(),
        "visible": [r.inner_text() for r in page.locator(".row").all() if r.is_visible()],
    }))
    browser.close()
"""


def rendered(page: Path) -> dict[str, Any]:
    """errors (console errors and requests), steps, containers, failed (step bars),
    height (px), ticks (the ruler's), visible (each visible row's text)."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result
