"""Secrets and service text against the real stack: a token in every form a service
prints it in, passwords compose escapes or that hold URL characters, and a message
that would reorder the page or forge the smoke's own lines."""

from __future__ import annotations

import html
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, leftovers
from tests.integration.faultkit import run_fault
from tests.secret_forms import readable

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]

OUTPUT_FILES = (
    "e2e-compose.log",
    "e2e-metrics.txt",
    "e2e-junit.xml",
    "e2e-trace.json",
    "e2e-report.html",
    "summary.md",
)


def views(path: Path) -> list[str]:
    """A file as a reader may read it: raw, JSON-decoded, HTML-unescaped."""
    text = path.read_text(encoding="utf-8")
    seen = [text, html.unescape(text)]
    if path.suffix == ".json":
        seen.append(json.dumps(json.loads(text), ensure_ascii=False))
    return seen


def test_a_token_in_every_form_is_readable_in_no_output(clean_project: str, tmp_path: Path) -> None:
    token = f'tok"\\&<é>{uuid.uuid4().hex[:12]}'
    run = run_fault(
        clean_project,
        tmp_path,
        "web-leaks-token",
        FAULT_TOKEN=token,
        GITHUB_ACTIONS="true",
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
    )
    assert run.returncode == 1, run.output
    assert "✗ web -> chat proxy call" in run.output
    assert "calling chat with the basic token Basic " in run.log  # it did print them
    assert not readable(token, run.output), run.output
    for name in OUTPUT_FILES:
        for view in views(tmp_path / name):
            assert not readable(token, view), name
    spans = (tmp_path / "e2e-trace.json").read_text()
    assert "token.basic" in spans  # web's span came back, its values masked
    assert leftovers(clean_project) == []


@pytest.mark.parametrize(
    "password",
    [f"hunter2$abc{uuid.uuid4().hex[:8]}", f"Xk9@Lm2:Qp7/{uuid.uuid4().hex[:8]}"],
    ids=["dollar", "url-characters"],
)
def test_a_db_password_compose_escapes_or_that_holds_url_characters_is_masked(
    clean_project: str, tmp_path: Path, password: str
) -> None:
    run = run_fault(
        clean_project,
        tmp_path,
        "db-leaks-password",
        "chat-leaks-urls",
        POSTGRES_PASSWORD=password,
    )
    assert run.returncode == 0, run.output  # db took it, chat logged in with it
    assert "leaking POSTGRES_PASSWORD=****\n" in run.log
    assert "connecting to postgresql://contoso:****@db/contoso" in run.log
    assert password not in run.everything
    assert password not in (tmp_path / "e2e-trace.json").read_text()
    assert leftovers(clean_project) == []


FORGED = "PASS  smoke lite: 6 steps in 1.0s; stack removed"


def test_a_message_that_reorders_text_or_forges_lines_is_shown_escaped(
    clean_project: str, tmp_path: Path
) -> None:
    message = (
        r"catalog \u202eindex\u202c corrupt \u009b31m \u2066iso\u2069 zero\u200bwidth "
        rf"\U000e0041tag\n{FORGED}\n    blame: db: fine"
    )
    run = run_fault(
        clean_project, tmp_path, "chat-faults", FAULT_MODE="raise", FAULT_MESSAGE=message
    )
    assert run.returncode == 1, run.output
    for raw in ("\u202e", "\u009b", "\u2066", "\u200b", "\U000e0041"):
        assert raw not in run.output, repr(raw)
    lines = run.output.splitlines()
    assert not [line for line in lines if line.lstrip().startswith((FORGED, "blame: db"))]
    assert any(line.lstrip() == f"│ {FORGED}" for line in lines), run.output
    assert r"RuntimeError: catalog \u202eindex\u202c corrupt \x9b31m \u2066iso\u2069" in run.output
    shown = _failure_box(tmp_path / "e2e-report.html")
    assert r"catalog \u202eindex\u202c corrupt \x9b31m" in shown
    assert r"zero\u200bwidth \U000e0041tag" in shown
    assert "xedni" not in shown
    assert f"│ {FORGED}" in shown
    assert not [line for line in shown.splitlines() if line.lstrip().startswith(FORGED)]
    assert leftovers(clean_project) == []


def _failure_box(page: Path) -> str:
    """The failure box's text as headless Chromium lays it out."""
    script = """
import os, sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
    page = browser.new_page()
    page.goto(sys.argv[1], wait_until="load")
    sys.stdout.write(page.locator(".failure").inner_text())
    browser.close()
"""
    done = subprocess.run(
        [sys.executable, "-c", script, page.as_uri()],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    return done.stdout
