"""Web's page broken for a person, for real: a page whose script throws, one whose
submit posts to a wrong path, and one that reads a field chat does not send. Each
makes `nox -s smoke` exit 1 under `web page (browser)`, naming what a person would
have hit, with a screenshot; the HTTP-only checks alone would have passed."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, leftovers
from tests.faults.pages import broken_page
from tests.integration.smoke_cli import nox

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]

PAGES = [
    pytest.param(
        "script-throws",
        "uncaught page error: TypeError: Cannot read properties of undefined (reading 'apiBase')",
        id="script-throws",
    ),
    pytest.param("wrong-fetch-path", "HTTP 404 from POST http://", id="wrong-fetch-path"),
    pytest.param(
        "renamed-field",
        "no answer appeared on the page within 5s of chat's answer arriving; the page shows:",
        id="renamed-field",
    ),
]


@pytest.mark.parametrize(("fault", "said"), PAGES)
def test_a_broken_page_fails_the_browser_step(
    clean_project: str, tmp_path: Path, fault: str, said: str
) -> None:
    log_file = tmp_path / "e2e-compose.log"
    page = broken_page(fault, tmp_path)
    started = time.monotonic()
    result = nox(
        "smoke",
        "--project",
        clean_project,
        "--timeout",
        "20",
        "--log-file",
        str(log_file),
        "--compose-file",
        "docker-compose.yml",
        "--compose-file",
        "tests/compose/web-page.yml",
        env={"FAULT_PAGE": str(page)},
    )
    assert result.returncode != 0, result.output
    assert time.monotonic() - started < 180  # a session and a full run, not a wait
    assert "✓ web page  " in result.output  # GET / alone still looks fine
    assert "✗ web page (browser)" in result.output
    assert said in result.output, result.output
    assert "failure class: web page (browser)" in result.output
    screenshot = tmp_path / "e2e-web.png"
    assert f"(screenshot: {screenshot})" in result.output
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    # Playwright's trace of the step beside it, and both in the timeline page.
    assert (tmp_path / "e2e-browser-trace.zip").read_bytes().startswith(b"PK")
    report = (tmp_path / "e2e-report.html").read_text()
    assert '<img alt="screenshot" src="data:image/png;base64,' in report
    assert '<a href="e2e-browser-trace.zip">' in report
    assert "✓ teardown" in result.output
    assert leftovers(clean_project) == []


def test_the_smokes_browser_going_away_is_started_again_not_blamed_on_webs_page(
    clean_project: str, tmp_path: Path
) -> None:
    """Chromium is killed under the run, once: the step says so and passes on a fresh
    browser; web's page is not blamed and no screenshot is taken."""
    real = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    assert real is not None
    started = time.monotonic()
    result = nox(
        "smoke",
        "--project",
        clean_project,
        "--log-file",
        str(tmp_path / "e2e-compose.log"),
        env={
            "SMOKE_BROWSER": str(ROOT / "tests/faults/dying_browser.sh"),
            "DYING_BROWSER_MARKER": str(tmp_path / "launched-once"),
            "DYING_BROWSER_REAL": real,
        },
    )
    assert result.returncode == 0, result.output
    assert time.monotonic() - started < 180  # tried once more at once, not at a timeout
    line = next(x for x in result.output.splitlines() if "✓ web page (browser)" in x)
    assert "answer shown (on a fresh browser: the first went away: " in line
    assert not (tmp_path / "e2e-web.png").exists()
    assert leftovers(clean_project) == []
