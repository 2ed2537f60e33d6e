"""How the fault tests run the smoke: as a user would (`python -m smoke run`), on
free ports, with compose overrides from tests/compose/ layered on the real file,
and with a fresh db password to look for in everything it writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import IMAGES_PROJECT, ROOT, leftovers

PASSWORD = f"pw-{uuid.uuid4().hex}"  # a fresh secret per session, to look for
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    log: str
    seconds: float = 0.0

    @property
    def everything(self) -> str:
        return self.output + self.log


def smoke_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SMOKE_WEB_PORT": "0",
        "SMOKE_CHAT_PORT": "0",
        "POSTGRES_PASSWORD": PASSWORD,
        **extra,
    }
    for name in ("NOX_CURRENT_SESSION", "KEEP_STACK", "CHAT_INSTALL_LOCAL_STACK"):
        if name not in extra:
            env.pop(name, None)
    return env


def command(
    project: str,
    tmp_path: Path,
    *overrides: str,
    args: Iterable[str] = (),
    profile: str = "lite",
) -> list[str]:
    files = ["--compose-file", "docker-compose.yml"]
    for name in overrides:
        files += ["--compose-file", f"tests/compose/{name}.yml"]
    return [
        sys.executable,
        "-m",
        "smoke",
        "run",
        "--profile",
        profile,
        "--project",
        project,
        "--log-file",
        str(tmp_path / "e2e-compose.log"),
        "--metrics-file",
        str(tmp_path / "e2e-metrics.txt"),
        "--junit-xml",
        str(tmp_path / "e2e-junit.xml"),
        *files,
        *args,
    ]


def run_fault(
    project: str,
    tmp_path: Path,
    *overrides: str,
    args: Iterable[str] = (),
    profile: str = "lite",
    **env: str,
) -> Run:
    started = time.monotonic()
    completed = subprocess.run(
        command(project, tmp_path, *overrides, args=args, profile=profile),
        cwd=ROOT,
        env=smoke_env(**env),
        capture_output=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    log_file = tmp_path / "e2e-compose.log"
    seconds = time.monotonic() - started
    _record_time(completed.returncode, seconds)
    # Bytes decoded as they are: text mode would turn a \r into a line break.
    return Run(
        completed.returncode,
        (completed.stdout + completed.stderr).decode("utf-8", "replace"),
        log_file.read_bytes().decode("utf-8", "replace") if log_file.exists() else "",
        seconds,
    )


def _record_time(returncode: int, seconds: float) -> None:
    """With SMOKE_FAULT_TIMES set, each fault run's test, exit status and wall time
    are appended there: the figures of docs/faults.md's time column."""
    path = os.environ.get("SMOKE_FAULT_TIMES")
    if path:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        with open(path, "a", encoding="utf-8") as out:  # one short write per line
            out.write(f"{test}\t{returncode}\t{seconds:.1f}\n")


def start_fault(
    project: str,
    tmp_path: Path,
    *overrides: str,
    args: Iterable[str] = (),
    new_session: bool = False,
    **env: str,
) -> subprocess.Popen[str]:
    """The smoke as a background process, for signals and kills."""
    return subprocess.Popen(
        command(project, tmp_path, *overrides, args=args),
        cwd=ROOT,
        env=smoke_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=new_session,
    )


def read_until(process: subprocess.Popen[str], marker: str, deadline: float) -> str:
    """The process's output up to the line holding ``marker`` (or its end)."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line or time.monotonic() > deadline:
            break
    text = "".join(seen)
    assert marker in text, text
    return text


def wait_for_containers(project: str, deadline: float) -> None:
    while not any(item.startswith("container") for item in leftovers(project)):
        assert time.monotonic() < deadline, "up never created a container"
        time.sleep(0.2)


def wait_until_gone(project: str, within: float) -> list[str]:
    """Poll until the project has nothing left, or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    left = leftovers(project)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = leftovers(project)
    return left


def one_line_error(run: Run) -> str:
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert len(lines) == 1, run.output
    assert lines[0].startswith("smoke: error: ")
    return lines[0]


def metrics(tmp_path: Path) -> dict[str, str]:
    text = (tmp_path / "e2e-metrics.txt").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def build(*args: str, **env: str) -> None:
    """`python -m smoke build` for real, for this run's images project (never the
    default one, which a developer's own stack may use); each fault run's own project
    then builds from its cache in well under a second."""
    project = () if "--project" in args else ("--project", IMAGES_PROJECT)
    result = subprocess.run(
        [sys.executable, "-m", "smoke", "build", *project, *args],
        cwd=ROOT,
        env=smoke_env(**env),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
