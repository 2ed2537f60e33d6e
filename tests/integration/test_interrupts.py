"""Interrupts, for real: Ctrl-C, SIGTERM and SIGHUP in each phase of a run, twice
during the logs and teardown, and a reader that goes away. Every time the stack is
torn down, the logs are written and the exit status says what ended the run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, leftovers
from tests.integration.faultkit import (
    command,
    read_until,
    smoke_env,
    start_fault,
    wait_for_containers,
)

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def test_a_reader_that_goes_away_loses_no_verdict_and_no_teardown(
    clean_project: str, tmp_path: Path
) -> None:
    """`nox -s smoke_lite | head -2`: the run still ends, tears down, and says its
    verdict on stderr; no BrokenPipeError traceback."""
    process = subprocess.Popen(
        command(clean_project, tmp_path),
        cwd=ROOT,
        env=smoke_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    process.stdout.close()  # as `head -1` does
    _, err = process.communicate(timeout=120)
    assert first.startswith("smoke: profile lite")
    assert process.returncode == 0, err
    assert "PASS  smoke lite" in err
    assert "stack removed" in err
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert leftovers(clean_project) == []


def test_ctrl_c_during_the_logs_and_teardown_is_answered_and_changes_nothing(
    clean_project: str, tmp_path: Path
) -> None:
    """Ctrl-C in a terminal signals the whole process group, docker's children too:
    the smoke says at once that it is finishing, and the logs and teardown finish."""
    process = start_fault(clean_project, tmp_path, "chat-chatty", new_session=True)
    try:
        seen = read_until(process, "✓ response contract", time.monotonic() + 120)
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(0.3)
        os.killpg(process.pid, signal.SIGINT)  # pressed twice: still one line
        rest, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    output = seen + rest
    assert output.count("smoke: SIGINT received: finishing the logs and teardown first") == 1
    assert "✓ teardown" in output, output
    # The first press may land just before the logs start (the run then stops as
    # interrupted) or during them (it passes); the logs and teardown finish either way.
    if process.returncode == 0:
        assert "PASS  smoke lite" in output
    else:
        assert process.returncode == 130, output
        assert "STOPPED  smoke lite: SIGINT" in output
    assert "stack removed" in output
    log = (tmp_path / "e2e-compose.log").read_text()
    assert "| 2026" in log  # stamped lines, as written
    assert "200000" in log  # the logs were saved whole
    assert leftovers(clean_project) == []


# (fault overrides, env, what to see on the output before signalling)
PHASES = {
    "up": (("up-blocks",), {}, None),
    "chat health wait": (("chat-silent",), {}, "✓ compose up"),
    "dependency wait": (("db-down",), {}, "✓ chat health"),
    "proxy call": (
        ("chat-drift",),
        {"FAULT_MODE": "slow", "FAULT_DELAY": "60"},
        "✓ chat dependency health",
    ),
}
SIGNALS = [
    pytest.param(phase, sig, status, id=f"{phase}-{name}")
    for name, sig, status in (("SIGINT", signal.SIGINT, 130), ("SIGTERM", signal.SIGTERM, 143))
    for phase in PHASES
] + [
    # A closed terminal or a dropped SSH session: handled like SIGTERM.
    pytest.param(phase, signal.SIGHUP, 129, id=f"{phase}-SIGHUP")
    for phase in ("up", "dependency wait")
]


@pytest.mark.parametrize(("phase", "sig", "status"), SIGNALS)
def test_signal_tears_down_then_exits(
    clean_project: str, tmp_path: Path, phase: str, sig: int, status: int
) -> None:
    overrides, env, marker = PHASES[phase]
    process = start_fault(clean_project, tmp_path, *overrides, args=("--timeout", "60"), **env)
    deadline = time.monotonic() + 120
    seen = ""
    if marker is None:
        wait_for_containers(clean_project, deadline)
    else:
        seen = read_until(process, marker, deadline)
    time.sleep(1.0)  # well inside the phase: each one waits 60 s
    process.send_signal(sig)
    rest, _ = process.communicate(timeout=60)
    output = seen + rest
    assert process.returncode == status, output
    assert "✓ teardown" in output
    assert f"interrupted by {signal.Signals(sig).name}" in output
    assert (tmp_path / "e2e-compose.log").exists()
    assert "result=interrupted" in (tmp_path / "e2e-metrics.txt").read_text().splitlines()
    assert leftovers(clean_project) == []
