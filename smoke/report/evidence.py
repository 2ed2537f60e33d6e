"""The evidence shown under a failed step: what went wrong, its failure class and
hint, compose's own words, the ``blame:`` line and span tree of the failing
request's trace, and its log lines (picked by trace id; without a trace, the last
log lines of the services involved)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smoke.errors import CheckFailed, ComposeFailed
from smoke.masking import Masker, excerpt, quoted, split_lines
from smoke.report.console import Console
from smoke.stack.logs import LogSource, chronological, logged_by

if TYPE_CHECKING:
    from smoke.trace.collector import Explained

LOG_TAIL_LINES = 20
STDERR_TAIL_LINES = 15
#: The failing request's own log lines shown at most (the log file has them all).
TRACE_LOG_LINES = 40


def explain(
    failure: CheckFailed,
    stack: LogSource | None,
    console: Console,
    masker: Masker,
    traced: Explained | None = None,
) -> None:
    """The failing step's message, its hint and the evidence, on the console. Much of
    it is a service's or compose's text: shown as untrusted."""
    with console.untrusted():
        _explain(failure, stack, console, masker, traced)


def _explain(
    failure: CheckFailed,
    stack: LogSource | None,
    console: Console,
    masker: Masker,
    traced: Explained | None,
) -> None:
    console.detail(quoted(masker(str(failure))))
    if failure.body and failure.body not in str(failure):
        seen = f"HTTP {failure.status}: " if failure.status else ""
        console.detail(quoted(masker(f"body: {seen}{failure.body}")))
    console.detail(f"failure class: {failure.failure_class}")
    console.detail(quoted(f"hint: {masker(failure.hint)}"))
    if isinstance(failure, ComposeFailed) and failure.stderr:
        console.detail("compose said:")
        tail = split_lines(failure.stderr.rstrip("\n"))[-STDERR_TAIL_LINES:]
        console.detail("\n".join(f"  {masker(line)}" for line in tail))
    if traced is not None and traced.blame:
        console.detail(quoted(masker(traced.blame)))
    if traced is not None and traced.tree:
        console.detail("the failing request's spans:")
        console.detail("\n".join(quoted(f"  {masker(line)}") for line in traced.tree))
    elif traced is not None and traced.missing:
        console.detail(traced.missing)
    services = failure.services
    if traced is not None and traced.log_lines:
        lines = traced.log_lines[-TRACE_LOG_LINES:]
        console.detail(f"its log lines (by trace id, {len(lines)} of {len(traced.log_lines)}):")
        tail = split_lines(chronological("\n".join(lines)).rstrip("\n"))
        console.detail("\n".join(f"  {masker(line)}" for line in tail))
        # A service the request never reached (a stopped db) still has its say.
        services = tuple(s for s in services if s not in {logged_by(line) for line in lines})
    shown = bool(traced is not None and traced.log_lines)
    if stack is not None and services:
        try:
            logs = stack.logs(services, tail=LOG_TAIL_LINES)
        except Exception as exc:  # evidence is best effort; the failure stays the news
            logs = f"(could not read logs: {excerpt(str(exc))})"
        if logs.strip():
            shown = True
            console.detail(f"last log lines ({', '.join(services)}):")
            tail = split_lines(chronological(logs).rstrip("\n"))
            console.detail("\n".join(f"  {masker(line)}" for line in tail))
    if "log lines below" in failure.hint and not shown:  # a hint promises only what follows
        console.detail(f"no log lines: {', '.join(failure.services) or 'the stack'} wrote none")
