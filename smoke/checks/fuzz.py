"""``nox -s fuzz`` / ``python -m smoke fuzz``: chat fuzzed against its own contract.

Starts db and chat like the smoke does (or takes ``--chat-url``), waits for chat
and its db, then runs Schemathesis against chat's ``/openapi.json`` with three
checks: no server errors, responses that conform to the schema, and only documented
status codes. Examples are bounded (``--max-examples`` per operation and phase), so
the session stays short. Schemathesis prints each failure with a ``curl`` line that
reproduces it. The stack is torn down on every path, as in the smoke.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from smoke import lifecycle, signals
from smoke.checks.contract import CONTRACT_PATH
from smoke.checks.probes import Endpoints, FixedEndpoints, Probe
from smoke.options import FuzzOptions
from smoke.report.console import Console
from smoke.report.errors import CheckFailed, FuzzingFailed, ToolMissing
from smoke.report.evidence import explain
from smoke.report.masking import Masker
from smoke.stack import claim as guard
from smoke.stack.compose import CHAT, DB, Stack
from smoke.stack.teardown import TeardownIncomplete
from smoke.steps import StepRunner

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


def _require_schemathesis() -> None:
    if importlib.util.find_spec("schemathesis") is None:
        raise ToolMissing(
            "fuzzing needs Schemathesis, which is not installed",
            hint="run `nox -s fuzz`, or `pip install 'contoso-smoke[fuzz]'`",
        )


def fuzz(options: FuzzOptions, *, console: Console, stack: Stack | None = None) -> Tally:
    """Fuzz chat; raises ``FuzzingFailed`` when Schemathesis finds a failure."""
    _require_schemathesis()
    started = time.monotonic()
    if options.uses_compose and stack is None:
        stack = Stack(options.target)
    masker = Masker()
    if stack is not None:
        prepared = lifecycle.prepare(
            stack, console, max_run_seconds=3600, prebuilt=not options.build
        )
        masker = prepared.masker
    where = f"project {options.target.project}" if stack else f"chat {options.chat_url}"
    console.line(f"fuzz: chat against its own schema, {where}")
    steps = StepRunner(console)
    claim = guard.Claim(stack, options) if stack is not None else None
    tally = Tally(0, 0)
    verdict = "STOPPED"
    failed: CheckFailed | None = None
    ending: lifecycle.Ending = "untouched"
    try:
        with signals.interruptible(), httpx.Client() as client:
            endpoints: Endpoints = stack or FixedEndpoints("", str(options.chat_url))
            probe = Probe(endpoints, options.timeout, client, watcher=stack)
            try:
                if stack is not None and claim is not None:
                    claim.start()
                    steps.run(
                        "compose up",
                        lambda: _up(stack, build=options.build, timeout=options.timeout),
                    )
                steps.run("chat health", probe.chat_health)
                steps.run("chat dependency health (db)", probe.chat_dependencies)
                tally = steps.run(
                    "fuzz",
                    lambda: _schemathesis(probe.url(CHAT, ""), options),
                    note=lambda t: f"{t.requests} requests, {t.server_errors} server errors",
                )
                verdict = "PASS"
            except CheckFailed as failure:
                verdict, failed = "FAIL", failure
                if isinstance(failure, FuzzingFailed):
                    tally = Tally(failure.requests, failure.server_errors)
                explain(failure, stack, console, masker)
                raise
            finally:
                # The shield first: a signal now must not skip the teardown below.
                with signals.shielded(lifecycle.finishing(console)):
                    if stack is not None and claim is not None:
                        lifecycle.capture_logs(stack, options.log_file, masker, console, failed)
                        try:
                            lifecycle.tear_down(stack, claim, steps.run)
                            ending = "removed"
                        except TeardownIncomplete as exc:
                            ending = "left over"
                            explain(exc, None, console, masker)
                            if verdict != "FAIL":  # else the fuzzing's failure stays the news
                                raise
    finally:
        if claim is not None:
            claim.close(release=ending != "untouched")  # else the reaper removes it
        elapsed = time.monotonic() - started
        project = options.target.project
        stack_said = "" if stack is None else f"; {lifecycle.stack_said(ending, project)}"
        console.line(
            f"{verdict}  fuzz: {tally.requests} requests, {tally.server_errors} server errors "
            f"in {elapsed:.1f}s{stack_said}"
        )
    return tally


def _up(stack: Stack, *, build: bool, timeout: float) -> None:
    """db and chat only: fuzzing needs no web."""
    stack.up(build=build, install_local_stack=False, services=(DB, CHAT), timeout=timeout)
    if build:
        stack.images.remove_replaced()


def _schemathesis(chat_url: str, options: FuzzOptions) -> Tally:
    har = options.log_file.with_name(HAR_NAME)  # every request and answer, kept
    har.parent.mkdir(parents=True, exist_ok=True)
    har.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="smoke-fuzz-") as tmp:  # Schemathesis's own files
        completed = subprocess.run(
            schemathesis_command(chat_url, options, har.resolve()), check=False, cwd=tmp
        )
    tally = Tally.from_har(har)
    if tally is None or tally.requests == 0:
        # A pass needs requests: no record, or none sent, proves nothing.
        said = (
            f"left no record of its requests ({har.name})" if tally is None else "sent no request"
        )
        raise FuzzingFailed(
            f"Schemathesis {said} (exit {completed.returncode})",
            requests=0,
            server_errors=0,
            hint="its own output above says why: chat's /openapi.json must list operations, "
            "and chat must answer at the URL it was given",
        )
    if completed.returncode != 0:
        raise FuzzingFailed(
            f"Schemathesis found failures (exit {completed.returncode}) in "
            f"{tally.requests} requests, {tally.server_errors} of them server errors",
            requests=tally.requests,
            server_errors=tally.server_errors,
        )
    return tally
