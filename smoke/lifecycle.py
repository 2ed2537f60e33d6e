"""The one lifecycle of every command that starts a stack (``run``, ``fuzz``).

    prepare   (``smoke.preparation``) engine, Compose, the model, the claim, ports, images;
              how spans come back (``smoke.trace``), and their receiver started
    checks    the command's own steps, each its own trace; Ctrl-C, SIGTERM and SIGHUP
              end them as Interrupted
    explain   a failed check: its class, hint, blame (from its trace) and evidence
    finish    shielded from signals: the logs and the containers' times, then the
              teardown (or the stack kept)
    report    the trace and timeline files, then the command's summary and files,
              written whatever arrives meanwhile

A command is its checks plus one call to ``run``. Whatever happens in the checks, the
logs are written and the stack is removed before ``run`` returns or raises, unless it
is to be kept. A death no handler sees is the reaper's to clean up.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

import httpx

from smoke import preparation, signals
from smoke.checks.probes import Endpoints, Probe
from smoke.errors import CheckFailed, Interrupted, TeardownIncomplete
from smoke.finish import Ending, finish, under_shield
from smoke.masking import Masker, excerpt
from smoke.options import Keep
from smoke.outcome import Result, SpecOutcome, StepResult
from smoke.report.console import Console
from smoke.report.evidence import explain
from smoke.report.timeline import TraceFiles, write_trace_files
from smoke.report.verdicts import Judged, judge_run
from smoke.stack import claim as claims
from smoke.stack.compose import Stack
from smoke.stack.state import ContainerTimes, Resources
from smoke.stack.target import Target
from smoke.steps import StepRunner
from smoke.trace import clocks, route
from smoke.trace.collector import Collector
from smoke.trace.context import Tracer
from smoke.trace.specs import Spec

R = TypeVar("R")


class StackOptions(Protocol):
    """What the lifecycle reads from a command's options."""

    @property
    def target(self) -> Target: ...
    @property
    def uses_compose(self) -> bool: ...
    @property
    def keep(self) -> Keep: ...
    @property
    def build(self) -> bool: ...
    @property
    def install_local_stack(self) -> bool: ...
    @property
    def log_file(self) -> Path: ...
    @property
    def timeout(self) -> float: ...
    @property
    def reaper(self) -> bool: ...
    @property
    def max_run_seconds(self) -> float: ...
    @property
    def trace(self) -> bool: ...
    @property
    def attach(self) -> bool: ...


@dataclass(frozen=True)
class Session:
    """What a command's checks work with once the project is claimed."""

    stack: Stack | None
    probe: Probe
    steps: StepRunner
    tracer: Tracer = field(default_factory=lambda: Tracer(enabled=False))
    #: The project's stack was there already (kept by an earlier run).
    reused: bool = False


class Checks(Protocol):
    """A command's own work inside the lifecycle."""

    def prepare(self) -> None:
        """What the checks need of the machine, found after the claim and before anything
        starts; raises an ``EnvironmentProblem`` (exit 2) when it is missing."""

    def __call__(self, session: Session) -> None:
        """The steps, each run through ``session.steps``."""

    def stop(self) -> Resources | None:
        """Stop background work and begin to release what ``prepare`` took; returns
        what the stack was found to hold, when known, so the teardown needs no
        listing."""

    def released(self) -> None:
        """Wait until what ``stop`` began to release is gone (a browser's close, in
        the shadow of the logs and the teardown)."""


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


#: File times come from the kernel's coarse clock, which lags ``time.time()`` by up to
#: a tick: a file this run wrote at its start can look older than the run.
_FILE_CLOCK_LAG_SECONDS = 0.02


def run(
    options: StackOptions,
    checks: Checks,
    *,
    console: Console,
    headline: Sequence[str],
    fixed: Endpoints,
    report: Callable[[Ended], R],
    stack: Stack | None = None,
    transport: httpx.BaseTransport | None = None,
    env: Mapping[str, str] | None = None,
    attachments: Sequence[Path] = (),
    needs: tuple[str, ...] = (),
    specs: Sequence[Spec] = (),
    specs_off: str | None = None,
) -> R:
    """Prepare, claim, run ``checks``, explain, finish and ``report``; returns what
    ``report`` returns, or re-raises what ended the checks once the report is out.

    ``headline``: the lines said once the run is ready to start. ``fixed``: where the
    services are when no stack is started (``--web-url``/``--chat-url``).
    ``needs``: the runbook's services the command checks, by name (checked before
    anything starts). ``specs``: the trace specs the spans are judged by once the
    checks are done (``specs_off``: why none is, when the user said so); a spec that
    fails fails a run whose checks passed. ``attachments``: files the checks may
    leave (a screenshot, a browser trace), shown in the timeline when they exist.
    """
    env = os.environ if env is None else env
    started = time.monotonic()
    started_wall = time.time()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    if options.uses_compose and stack is None:
        stack = Stack(options.target, env=env)
    tracer = Tracer(enabled=options.trace)
    collector = Collector(tracer)
    # httpx builds its TLS context when a client is made: do that beside the checks.
    maker = ThreadPoolExecutor(max_workers=1)
    client_made = maker.submit(tracer.client, transport)
    maker.shutdown(wait=False)
    driver: str | None = None
    masker = Masker()
    reused = False
    try:
        # First, so a browser starts while the engine is asked, not beside `up`.
        checks.prepare()
        try:
            if stack is not None:
                prepared = preparation.prepare(
                    stack,
                    console,
                    max_run_seconds=options.max_run_seconds,
                    prebuilt=not options.build,
                    install_local_stack=options.install_local_stack,
                    kept=options.keep == "always",
                    attach=options.attach,
                    needs=needs,
                    log_file=options.log_file,
                )
                driver, masker, reused = prepared.storage_driver, prepared.masker, prepared.reused
                collector.route = route.choose(stack.engine(), stack.project)
                stack.compose_env = collector.route.compose_env()
        except BaseException:
            checks.stop()  # what prepare took goes back
            checks.released()
            raise
    except BaseException:
        client_made.result().close()
        raise
    collector.start()
    for line in headline:
        console.line(line)
    console.line(f"smoke: {collector.describe()}")
    steps = StepRunner(console, traced=tracer.step)
    claim = None
    if stack is not None:
        kept = options.keep == "always"
        claim = claims.Claim(
            stack, kept=kept, reaper=options.reaper, log_file=options.log_file, console=console
        )
    result: Result = "error"
    failure: CheckFailed | None = None
    stopped_by: str | None = None
    ending: Ending = "untouched"
    times: list[ContainerTimes] = []
    try:
        with signals.interruptible(), client_made.result() as client:
            probe = Probe(stack or fixed, options.timeout, client, watcher=stack)
            try:
                if claim is not None:
                    claim.start()
                checks(Session(stack, probe, steps, tracer, reused))
            except CheckFailed as exc:
                failure = exc
                said = collector.explain(
                    exc.judged_step or exc.step,
                    stack.logs if stack is not None else None,
                    stack.state if stack is not None else None,
                    probe.service_at,
                )
                exc.blame, exc.no_trace = said.blame, said.missing
                explain(exc, stack, console, masker, said)
                if stack is None:
                    console.detail(
                        "no log lines: this run checks a stack it did not start "
                        "(--web-url/--chat-url), so it reads no logs; a kept stack's: "
                        "`nox -s logs`"
                    )
                raise
            finally:

                def wind_up() -> None:
                    nonlocal ending
                    made = checks.stop()
                    try:
                        if stack is not None and claim is not None:
                            ending = finish(
                                stack,
                                claim,
                                steps,
                                masker,
                                keep=options.keep,
                                log_file=options.log_file,
                                failure=failure,
                                made=made,
                                times=times,
                            )
                    except TeardownIncomplete as exc:
                        ending = "left over"
                        explain(exc, None, console, masker)
                        if failure is None:  # else the check that failed stays the news
                            raise
                    finally:
                        checks.released()

                # The shield first: a signal now must not skip the teardown.
                landed = under_shield(wind_up, console)
                if landed is not None:  # came in the instant before the shield was up
                    raise landed
        result = "passed"
    except CheckFailed as exc:
        result, failure = "failed", exc
        raise
    except Interrupted as exc:
        result, stopped_by = "interrupted", exc.signal_name
        raise
    except Exception as exc:
        stopped_by = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with signals.shielded():  # the reports get written, whatever arrives now
            if claim is not None:
                # A stack this run did not get to remove stays the reaper's to remove.
                claim.close(release=ending != "untouched")
            since = started_wall - _FILE_CLOCK_LAG_SECONDS
            fresh = [p for p in attachments if p.is_file() and p.stat().st_mtime >= since]
            _read_log_spans(options, collector)
            clock_notes = clocks.said(collector.clock_offsets())
            for note in clock_notes:
                console.line(f"smoke: trace: {note}")
            judged = _judge(specs, specs_off, stack, collector, steps, console, masker)
            if judged.failure is not None and result == "passed":
                result, failure = "failed", judged.failure
            trace_files = _trace_files(
                options,
                collector,
                steps,
                times,
                failure,
                masker,
                fresh,
                console,
                judged.marked,
                clock_notes,
            )
            reported = report(
                Ended(
                    result=result,
                    stack=stack,
                    failure=failure,
                    stopped_by=stopped_by,
                    ending=ending,
                    steps=tuple(steps.results),
                    storage_driver=driver,
                    masker=masker,
                    started_at=started_at,
                    duration=time.monotonic() - started,
                    # A step that ran out of time, else the whole run (its budget).
                    slowest=(
                        collector.slowest(failure.step, within=failure.elapsed)
                        if failure is not None and failure.timed_out
                        else collector.slowest()
                    ),
                    trace_files=trace_files,
                    trace_ids=tuple(tracer.steps().items()),
                    specs=judged.outcomes,
                    specs_seconds=judged.seconds,
                )
            )
    return reported


def _read_log_spans(options: StackOptions, collector: Collector) -> None:
    """On the log route, the spans are in the log file just written."""
    if collector.reads_logs and options.log_file.is_file():
        with contextlib.suppress(OSError):
            collector.read_logs(options.log_file.read_text(encoding="utf-8", errors="replace"))


def _judge(
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


def _trace_files(
    options: StackOptions,
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
            options.log_file.parent,
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
