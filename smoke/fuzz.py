"""``nox -s fuzz`` / ``python -m smoke fuzz``: chat fuzzed against its own contract.

Starts db and chat like the smoke does (or takes ``--chat-url``), waits for chat and
its db, then runs Schemathesis (``smoke.checks.schemathesis``), inside the one
lifecycle (``smoke.lifecycle``): the stack is torn down on every path.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from smoke import lifecycle
from smoke.checks.probes import FixedEndpoints
from smoke.checks.schemathesis import HAR_NAME, Tally, require_schemathesis, run_schemathesis
from smoke.checks.services import failed_job
from smoke.ended import Ended
from smoke.errors import ComposeFailed, FuzzingFailed
from smoke.finish import stack_said
from smoke.masking import Masker, excerpt
from smoke.options import FuzzOptions
from smoke.report.console import Console
from smoke.report.files import mask_json_file, mask_xml_file
from smoke.stack.compose import CHAT, DB, Stack
from smoke.stack.services import extra_services
from smoke.stack.state import Resources


def fuzz(options: FuzzOptions, *, console: Console, stack: Stack | None = None) -> Tally:
    """Fuzz chat; raises ``FuzzingFailed`` when Schemathesis finds a failure."""
    require_schemathesis()
    where = (
        f"project {options.stack.target.project}"
        if options.stack.uses_compose
        else f"chat {options.chat_url}"
    )
    checks = _FuzzChecks(options, console)

    def report(ended: Ended) -> Tally:
        _mask_records(options, ended.masker, console)
        tally = checks.tally
        if isinstance(ended.failure, FuzzingFailed):
            tally = Tally(ended.failure.requests, ended.failure.server_errors)
        verdict = {"passed": "PASS", "failed": "FAIL"}.get(ended.result, "STOPPED")
        said = (
            ""
            if ended.stack is None
            else f"; {stack_said(ended.ending, options.stack.target.project)}"
        )
        console.line(
            f"{verdict}  fuzz: {tally.requests} requests, {tally.server_errors} server errors "
            f"in {ended.duration:.1f}s{said}"
        )
        return tally

    return lifecycle.run(
        options.stack,
        checks,
        console=console,
        headline=[f"fuzz: chat against its own schema, {where}"],
        fixed=FixedEndpoints("", str(options.chat_url)),
        report=report,
        stack=stack,
        needs=(DB, CHAT),
    )


def _mask_records(options: FuzzOptions, masker: Masker, console: Console) -> None:
    """Schemathesis's own files hold every answer chat gave: masked like ours."""
    records = [(options.stack.log_file.with_name(HAR_NAME), mask_json_file)]
    if options.junit_xml:
        records.append((options.junit_xml, mask_xml_file))
    for path, mask in records:
        if not path.is_file():
            continue
        try:
            mask(path, masker)
        except (OSError, ET.ParseError) as exc:
            path.unlink(missing_ok=True)  # better no record than one that leaks
            console.line(f"removed {path}: it could not be masked ({excerpt(str(exc), limit=160)})")


class _FuzzChecks:
    """db and chat up and healthy, then Schemathesis."""

    def __init__(self, options: FuzzOptions, console: Console) -> None:
        self._options = options
        self._console = console
        self.tally = Tally(0, 0)

    def prepare(self) -> None:
        pass

    def __call__(self, session: lifecycle.Session) -> None:
        stack, steps, probe = session.stack, session.steps, session.probe
        if stack is not None:
            steps.run(
                "compose up",
                lambda: _up(
                    stack, build=self._options.stack.build, timeout=self._options.stack.timeout
                ),
            )
        steps.run("chat health", probe.chat_health)
        steps.run("chat dependency health (db)", probe.chat_dependencies)
        self.tally = steps.run(
            "fuzz",
            lambda: self._schemathesis(probe.url(CHAT, ""), session.masker),
            note=lambda t: f"{t.requests} requests, {t.server_errors} server errors",
        )

    def _schemathesis(self, chat_url: str, masker: Masker) -> Tally:
        """Schemathesis's output, chat's answers in it, shown masked and as a service's
        text (under GitHub Actions: no workflow command read from it)."""
        with self._console.untrusted():
            return run_schemathesis(
                chat_url, self._options, show=lambda line: self._console.detail(masker(line))
            )

    def stop(self) -> Resources | None:
        return None

    def released(self) -> None:
        pass


def _up(stack: Stack, *, build: bool, timeout: float) -> None:
    """db and chat only (and the jobs they wait for): fuzzing needs no web."""
    try:
        stack.up(build=build, install_local_stack=False, services=(DB, CHAT), timeout=timeout)
    except ComposeFailed as failure:
        job = failed_job(stack, extra_services(stack.config()))
        if job is None:
            raise
        raise job from failure
    if build:
        stack.images.remove_replaced()
