"""The front door, walked as a newcomer walks it: the README's quick start and the
triage guide's commands, run as written. Only what the docs say a user may set comes
from the environment: the project (COMPOSE_PROJECT_NAME) and the published ports
(SMOKE_WEB_PORT / SMOKE_CHAT_PORT, so the test never takes a user's 3000 and 8000)."""

from __future__ import annotations

import re
import shlex
import socket
import sys

import pytest

from tests.conftest import ROOT, leftovers
from tests.integration.smoke_cli import Result, _run

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def commands(doc: str) -> list[str]:
    """Every `nox -s …` command the page shows, in order."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    return re.findall(r"`(nox -s [^`]+)`", text) + re.findall(
        r"^(nox -s \S+.*?)\s*(?:#|$)", text, flags=re.M
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run(command: str, env: dict[str, str]) -> Result:
    words = shlex.split(command)
    assert words[:2] == ["nox", "-s"], command
    return _run([sys.executable, "-m", "nox", *words[1:]], env)


def test_the_quick_start_and_the_triage_commands_work_as_written(clean_project: str) -> None:
    quick_start = commands("README.md")
    triage = commands("docs/triage.md")
    web, chat = free_port(), free_port()
    env = {
        "COMPOSE_PROJECT_NAME": clean_project,
        "SMOKE_WEB_PORT": str(web),
        "SMOKE_CHAT_PORT": str(chat),
    }

    assert "nox -s smoke_lite" in quick_start  # the first of the two commands
    first = run("nox -s smoke_lite", env)
    assert first.returncode == 0, first.output
    assert "PASS  smoke lite: 6 steps" in first.output
    assert "uv binary not found" not in first.output  # nox's own line, read as an error

    keep = next(c for c in quick_start if c.endswith("-- --keep-stack"))
    kept = run(keep, env)
    assert kept.returncode == 0, kept.output
    assert "stack kept" in kept.output
    # Triage step 4's page: where the kept stack answers, as it says.
    assert f"  web:        http://127.0.0.1:{web}/" in kept.output
    assert f"  chat:       http://127.0.0.1:{chat}/" in kept.output

    # Triage step 3: the kept stack rechecked as it is.
    attach = next(c for c in triage if "--attach" in c)
    attached = run(attach, env)
    assert attached.returncode == 0, attached.output
    assert "✓ attach" in attached.output
    assert "3 services running, as they are" in attached.output
    assert "compose up" not in attached.output

    # Triage step 5: the checks again, against the stack as it runs.
    retry = next(c for c in triage if "--web-url" in c and c.startswith("nox -s smoke_lite"))
    retry = retry.replace(":3000", f":{web}").replace(":8000", f":{chat}")
    again = run(retry, env)
    assert again.returncode == 0, again.output
    assert f"smoke: profile lite, web http://127.0.0.1:{web}" in again.output

    # Triage step 6: save the logs, then clean up, with no venv built for either.
    assert "nox -s logs" in triage
    assert "nox -s teardown" in triage
    before = {path.name for path in (ROOT / ".nox").iterdir()}
    logs = run("nox -s logs", {**env})
    assert logs.returncode == 0, logs.output
    assert f"of project {clean_project} to e2e-compose.log" in logs.output
    teardown = run("nox -s teardown", env)
    assert teardown.returncode == 0, teardown.output
    assert "teardown: removed" in teardown.output
    assert "the run mark" in teardown.output
    for output in (logs.output, teardown.output):
        assert "Creating virtual environment" not in output
        assert "uv binary not found" not in output
    assert {path.name for path in (ROOT / ".nox").iterdir()} <= before
    assert leftovers(clean_project) == []
