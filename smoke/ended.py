"""How a run ended: the trace specs judged on its spans, its trace files written, and
``Ended``, what a command's report reads.

    read_log_spans   on the log route, the spans from the log file just written
    judge            the trace specs on the run's spans, or why they are not judged
    trace_files      ``e2e-trace.json`` and ``e2e-report.html``; never fatal
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from smoke.errors import CheckFailed
from smoke.finish import Ending
from smoke.masking import Masker, excerpt
from smoke.outcome import Result, SpecOutcome, StepResult
from smoke.report.console import Console
from smoke.report.timeline import TraceFiles, write_trace_files
from smoke.report.verdicts import Judged, judge_run
from smoke.stack.compose import Stack
from smoke.stack.state import ContainerTimes
from smoke.steps import StepRunner
from smoke.trace.collector import Collector
from smoke.trace.specs import Spec


@dataclass(frozen=True)
class Ended:
    """How a command's lifecycle ended, for its summary and reports."""

    result: Result
    stack: Stack | None
    failure: CheckFailed | None
    stopped_by: str | None
    ending: Ending
    steps: tuple[StepResult, ...]
    storage_driver: str | None
    masker: Masker
    started_at: str
    duration: float
    #: Where the run's time went, from its slowest request's spans (None: no trace).
    slowest: str | None = None
    #: The trace and timeline files written, if any.
    trace_files: TraceFiles | None = None
    #: (step, trace id) of each traced step.
    trace_ids: tuple[tuple[str, str], ...] = ()
    #: The trace specs judged, and the seconds that took.
    specs: tuple[SpecOutcome, ...] = ()
    specs_seconds: float | None = None


def read_log_spans(log_file: Path, collector: Collector) -> None:
    """On the log route, the spans are in the log file just written."""
    if collector.reads_logs and log_file.is_file():
        with contextlib.suppress(OSError):
            collector.read_logs(log_file.read_text(encoding="utf-8", errors="replace"))


def judge(
    specs: Sequence[Spec],
    specs_off: str | None,
    stack: Stack | None,
    collector: Collector,
    steps: StepRunner,
    console: Console,
    masker: Masker,
) -> Judged:
    """The trace specs on the run's spans, once every check is done; or why not."""
    why = specs_off
    if why is None and specs:
        if stack is None:
            why = "a stack this run did not start sends it no span (--web-url/--chat-url)"
        elif collector.problem:
            why = collector.problem
    if why is not None:
        console.line(f"  trace specs: not judged: {why}")
        return Judged(not_judged=why)
    if not specs:
        return Judged()
    passed = [r.name for r in steps.results if r.passed and r.name != "teardown"]
    return judge_run(specs, collector.spans(), collector.tracer.steps(), passed, console, masker)


def trace_files(
    log_file: Path,
    collector: Collector,
    steps: StepRunner,
    times: Sequence[ContainerTimes],
    failure: CheckFailed | None,
    masker: Masker,
    attachments: Sequence[Path],
    console: Console,
    marked: frozenset[str] = frozenset(),
    notes: Sequence[str] = (),
) -> TraceFiles | None:
    """``e2e-trace.json`` and ``e2e-report.html`` next to the log file; never fatal."""
    try:
        return write_trace_files(
            log_file.parent,
            spans=collector.spans(),
            steps=steps.results,
            trace_ids=collector.tracer.steps(),
            containers=times,
            failure=failure,
            attachments=attachments,
            masker=masker,
            marked=marked,
            notes=notes,
        )
    except OSError as exc:
        console.line(f"could not write the trace files: {excerpt(str(exc), limit=160)}")
        return None
    finally:
        collector.close()
