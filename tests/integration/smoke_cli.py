"""Run the smoke the way a user does, through nox or `python -m smoke`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from tests.conftest import ROOT

TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Result:
    returncode: int
    output: str


def _run(args: list[str], env: Mapping[str, str] | None) -> Result:
    full_env = {**os.environ, "SMOKE_WEB_PORT": "0", "SMOKE_CHAT_PORT": "0", **(env or {})}
    full_env.pop("NOX_CURRENT_SESSION", None)  # we are a user here, not the tests session
    completed = subprocess.run(
        args,
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    return Result(completed.returncode, completed.stdout + completed.stderr)


def nox(session: str, *posargs: str, env: Mapping[str, str] | None = None) -> Result:
    return _run([sys.executable, "-m", "nox", "-s", session, "--", *posargs], env)


def smoke(*args: str, env: Mapping[str, str] | None = None) -> Result:
    return _run([sys.executable, "-m", "smoke", *args], env)
