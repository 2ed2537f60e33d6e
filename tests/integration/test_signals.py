"""Ctrl-C and SIGTERM in the middle of a real run: the stack is torn down, then
the run exits 130 or 143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, leftovers

pytestmark = pytest.mark.docker


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_during_a_wait_tears_down(clean_project: str, sig: int, status: int) -> None:
    # chat answers the proxied call only after 60 s, so the run is inside a wait.
    env = {
        **os.environ,
        "SMOKE_WEB_PORT": "0",
        "SMOKE_CHAT_PORT": "0",
        "FAULT_MODE": "slow",
        "FAULT_DELAY": "60",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smoke",
            "run",
            "--profile",
            "lite",
            "--project",
            clean_project,
            "--compose-file",
            "docker-compose.yml",
            "--compose-file",
            "tests/compose/chat-drift.yml",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 300
    for line in process.stdout:  # bounded by the deadline and by the process ending
        lines.append(line)
        if "✓ response contract" in line or "✓ chat dependency health" in line:
            break
        assert time.monotonic() < deadline, "".join(lines)
    time.sleep(0.5)  # well inside the 60 s proxy call
    process.send_signal(sig)
    rest, _ = process.communicate(timeout=60)
    output = "".join(lines) + rest
    assert process.returncode == status, output
    assert "✓ teardown" in output
    assert f"interrupted by {signal.Signals(sig).name}" in output
    assert leftovers(clean_project) == []
