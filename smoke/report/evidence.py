"""The evidence shown under a failed step: what went wrong, its failure class and
hint, compose's own words, and the last log lines of the services involved."""

from __future__ import annotations

from smoke.report.console import Console
from smoke.report.errors import CheckFailed, ComposeFailed
from smoke.report.files import LogSource, chronological
from smoke.report.masking import Masker, excerpt, split_lines

LOG_TAIL_LINES = 20
STDERR_TAIL_LINES = 15


def explain(
    failure: CheckFailed, stack: LogSource | None, console: Console, masker: Masker
) -> None:
    """The failing step's message, its hint and the evidence, on the console. Much of
    it is a service's or compose's text: shown as untrusted."""
    with console.untrusted():
        _explain(failure, stack, console, masker)


def _explain(
    failure: CheckFailed, stack: LogSource | None, console: Console, masker: Masker
) -> None:
    console.detail(masker(str(failure)))
    if failure.body and failure.body not in str(failure):
        seen = f"HTTP {failure.status}: " if failure.status else ""
        console.detail(masker(f"body: {seen}{failure.body}"))
    console.detail(f"failure class: {failure.failure_class}")
    console.detail(f"hint: {masker(failure.hint)}")
    if isinstance(failure, ComposeFailed) and failure.stderr:
        console.detail("compose said:")
        tail = split_lines(failure.stderr.rstrip("\n"))[-STDERR_TAIL_LINES:]
        console.detail("\n".join(f"  {masker(line)}" for line in tail))
    if stack is not None:
        try:
            logs = stack.logs(failure.services, tail=LOG_TAIL_LINES)
        except Exception as exc:  # evidence is best effort; the failure stays the news
            logs = f"(could not read logs: {excerpt(str(exc))})"
        if logs.strip():
            console.detail(f"last log lines ({', '.join(failure.services)}):")
            tail = split_lines(chronological(logs).rstrip("\n"))
            console.detail("\n".join(f"  {masker(line)}" for line in tail))
