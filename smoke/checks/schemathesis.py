"""The fuzzer: Schemathesis against chat's own ``/openapi.json``, with three checks: no
server errors, responses that conform to the schema, and only documented status
codes. Examples are bounded (``--max-examples`` per operation and phase), so the
session stays short. Schemathesis prints each failure with a ``curl`` line that
reproduces it (its output is shown line by line as it comes, through ``show``, which
masks it: chat's answers are in it); its HAR record is kept beside the log file."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from smoke.checks.contract import CONTRACT_PATH
from smoke.errors import FuzzingFailed, ToolMissing
from smoke.options import FuzzOptions

CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance")
HAR_NAME = "e2e-fuzz.har"
_REQUEST_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Tally:
    """What the fuzzing sent and got, from Schemathesis's HAR record."""

    requests: int
    server_errors: int

    @classmethod
    def from_har(cls, path: Path) -> Tally | None:
        """The tally, or None when there is no readable record: then nothing is known."""
        try:
            entries = json.loads(path.read_text("utf-8"))["log"]["entries"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        statuses = [int(e.get("response", {}).get("status") or 0) for e in entries]
        return cls(len(statuses), sum(1 for s in statuses if s >= 500))


def schemathesis_command(
    chat_url: str, options: FuzzOptions, har: Path, python: str = sys.executable
) -> list[str]:
    command = [python, "-m", "schemathesis.cli", "run", f"{chat_url}{CONTRACT_PATH}"]
    command += ["--checks", ",".join(CHECKS), "--max-examples", str(options.max_examples)]
    command += ["--request-timeout", str(_REQUEST_TIMEOUT_SECONDS)]
    command += ["--report", "har" + (",junit" if options.junit_xml else "")]
    command += ["--report-har-path", str(har)]
    if options.junit_xml:
        command += ["--report-junit-path", str(options.junit_xml)]
    if options.seed is not None:
        command += ["--seed", str(options.seed)]
    return command


def require_schemathesis() -> None:
    if importlib.util.find_spec("schemathesis") is None:
        raise ToolMissing(
            "fuzzing needs Schemathesis, which is not installed",
            hint="run `nox -s fuzz`, or `pip install 'contoso-smoke[fuzz]'`",
        )


def run_schemathesis(chat_url: str, options: FuzzOptions, *, show: Callable[[str], None]) -> Tally:
    """Fuzz chat at ``chat_url``; each line Schemathesis prints goes to ``show``."""
    har = options.stack.log_file.with_name(HAR_NAME)  # every request and answer, kept
    har.parent.mkdir(parents=True, exist_ok=True)
    har.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="smoke-fuzz-") as tmp:  # Schemathesis's own files
        returncode = run_showing(schemathesis_command(chat_url, options, har.resolve()), tmp, show)
    tally = Tally.from_har(har)
    if tally is None or tally.requests == 0:
        # A pass needs requests: no record, or none sent, proves nothing.
        said = (
            f"left no record of its requests ({har.name})" if tally is None else "sent no request"
        )
        raise FuzzingFailed(
            f"Schemathesis {said} (exit {returncode})",
            requests=0,
            server_errors=0,
            hint="its own output above says why: chat's /openapi.json must list operations, "
            "and chat must answer at the URL it was given",
        )
    if returncode != 0:
        raise FuzzingFailed(
            f"Schemathesis found failures (exit {returncode}) in "
            f"{tally.requests} requests, {tally.server_errors} of them server errors",
            requests=tally.requests,
            server_errors=tally.server_errors,
        )
    return tally


def run_showing(command: list[str], cwd: str, show: Callable[[str], None]) -> int:
    """Run ``command``, its output (stderr in it) to ``show`` line by line as it comes;
    its exit code. Ended if the run is (Ctrl-C, SIGTERM), never left running."""
    with subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        encoding="utf-8",  # text, its own bytes replaced where they are not UTF-8
        errors="replace",
    ) as process:
        assert process.stdout is not None  # PIPE
        try:
            for line in process.stdout:
                show(line.rstrip("\n"))
        except BaseException:
            process.kill()
            raise
        return process.wait()
