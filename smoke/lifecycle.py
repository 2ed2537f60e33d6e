"""The one lifecycle of every command that starts a stack (``run``, ``fuzz``), in
phases, each a method of one run's state:

    prepare   (``smoke.preparation``) engine, Compose, the model, the claim, ports,
              images; how spans come back (``smoke.trace``)
    start     the receiver started, the first lines said, the claim made ready
    check     the command's own steps, each its own trace; Ctrl-C, SIGTERM and SIGHUP
              end them as Interrupted; a failed check explained (class, hint, blame
              from its trace, evidence); then, shielded, ``smoke.finish``: the logs
              and the containers' times, the teardown (or the stack kept)
    ended     (``smoke.ended``) the specs judged, the trace and timeline files, then
              the command's report, written whatever arrives meanwhile

A command is its checks plus one call to ``run``. Whatever happens in the checks, the
logs are written and the stack is removed before ``run`` returns or raises, unless it
is to be kept. A death no handler sees is the reaper's to clean up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

import httpx

from smoke import clock, preparation, signals
from smoke.checks.probes import Endpoints, Probe
from smoke.ended import Ended, judge, read_log_spans, trace_files
from smoke.errors import CheckFailed, Interrupted, TeardownIncomplete
from smoke.finish import Ending, finish, under_shield
from smoke.masking import Masker
from smoke.options import StackSettings
from smoke.outcome import Result
from smoke.report.console import Console
from smoke.report.evidence import explain
from smoke.stack import claim as claims
from smoke.stack.compose import Stack
from smoke.stack.state import ContainerTimes, Resources
from smoke.steps import StepRunner
from smoke.trace import clocks, route
from smoke.trace.collector import Collector
from smoke.trace.context import Tracer
from smoke.trace.specs import Spec

R = TypeVar("R")


@dataclass(frozen=True)
class Session:
    """What a command's checks work with once the project is claimed."""

    stack: Stack | None
    probe: Probe
    steps: StepRunner
    #: Masks this run's secrets in what the checks show of a service's text (no
    #: default: one that masks nothing would leak quietly).
    masker: Masker
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


#: File times come from the kernel's coarse clock, which lags ``clock.time()`` by up to
#: a tick: a file this run wrote at its start can look older than the run.
_FILE_CLOCK_LAG_SECONDS = 0.02


def run(
    settings: StackSettings,
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
    if settings.uses_compose and stack is None:
        stack = Stack(settings.target, env=env)  # None: this process's environment
    this = _Run(settings, checks, console, stack, Tracer(enabled=settings.trace))
    this.prepare(transport, needs)
    this.start(headline)
    try:
        this.check(fixed)
        this.result = "passed"
    except CheckFailed as exc:
        this.result, this.failure = "failed", exc
        raise
    except Interrupted as exc:
        this.result, this.stopped_by = "interrupted", exc.signal_name
        raise
    except Exception as exc:
        this.stopped_by = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with signals.shielded():  # the reports get written, whatever arrives now
            reported = report(this.ended(attachments, specs, specs_off))
    return reported


@dataclass
class _Run:
    """One run's state as it goes through the phases: prepare, start, check (and,
    shielded, its finish), ended."""

    settings: StackSettings
    checks: Checks
    console: Console
    stack: Stack | None
    tracer: Tracer
    started: float = field(default_factory=clock.monotonic)
    #: The kernel's wall clock, which file times are on: not the smoke's clock.
    started_wall: float = field(default_factory=time.time)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    masker: Masker = field(default_factory=Masker)
    driver: str | None = None
    reused: bool = False
    claim: claims.Claim | None = None
    result: Result = "error"
    failure: CheckFailed | None = None
    stopped_by: str | None = None
    ending: Ending = "untouched"
    times: list[ContainerTimes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.collector = Collector(self.tracer)
        self.steps = StepRunner(self.console, traced=self.tracer.step)

    def prepare(self, transport: httpx.BaseTransport | None, needs: tuple[str, ...]) -> None:
        """The checks' own needs first (a browser starts while the engine is asked),
        then the stack's and how spans come back; what was taken goes back if any of
        it fails."""
        # httpx builds its TLS context when a client is made: do that beside the checks.
        maker = ThreadPoolExecutor(max_workers=1)
        self._client = maker.submit(self.tracer.client, transport)
        maker.shutdown(wait=False)
        try:
            self.checks.prepare()
            try:
                if self.stack is not None:
                    self._prepare_stack(self.stack, needs)
            except BaseException:
                self.checks.stop()  # what prepare took goes back
                self.checks.released()
                raise
        except BaseException:
            self._client.result().close()
            raise

    def _prepare_stack(self, stack: Stack, needs: tuple[str, ...]) -> None:
        settings = self.settings
        prepared = preparation.prepare(
            stack,
            self.console,
            max_run_seconds=settings.max_run_seconds,
            prebuilt=not settings.build,
            install_local_stack=settings.install_local_stack,
            kept=settings.keep == "always",
            attach=settings.attach,
            needs=needs,
            log_file=settings.log_file,
        )
        self.driver, self.masker, self.reused = (
            prepared.storage_driver,
            prepared.masker,
            prepared.reused,
        )
        self.collector.route = route.choose(stack.engine(), stack.project)
        stack.compose_env = self.collector.route.compose_env()

    def start(self, headline: Sequence[str]) -> None:
        """The receiver started, the run's first lines said, its claim made ready."""
        self.collector.start()
        for line in headline:
            self.console.line(line)
        self.console.line(f"smoke: {self.collector.describe()}")
        if self.stack is not None:
            self.claim = claims.Claim(
                self.stack,
                kept=self.settings.keep == "always",
                reaper=self.settings.reaper,
                log_file=self.settings.log_file,
                console=self.console,
            )

    def check(self, fixed: Endpoints) -> None:
        """The claim and the checks under the signal handlers, a failure explained;
        then, shielded, the finish."""
        with signals.interruptible(), self._client.result() as client:
            probe = Probe(self.stack or fixed, self.settings.timeout, client, watcher=self.stack)
            try:
                if self.claim is not None:
                    self.claim.start()
                self.checks(
                    Session(
                        self.stack,
                        probe,
                        self.steps,
                        self.masker,
                        tracer=self.tracer,
                        reused=self.reused,
                    )
                )
            except CheckFailed as exc:
                self.failure = exc
                self._explain(exc, probe)
                raise
            finally:
                # The shield first: a signal now must not skip the teardown.
                landed = under_shield(self._wind_up, self.console)
                if landed is not None:  # came in the instant before the shield was up
                    raise landed

    def _explain(self, failure: CheckFailed, probe: Probe) -> None:
        stack = self.stack
        said = self.collector.explain(
            failure.judged_step or failure.step,
            stack.logs if stack is not None else None,
            stack.state if stack is not None else None,
            probe.service_at,
        )
        failure.blame, failure.no_trace = said.blame, said.missing
        explain(failure, stack, self.console, self.masker, said)
        if stack is None:
            self.console.detail(
                "no log lines: this run checks a stack it did not start "
                "(--web-url/--chat-url), so it reads no logs; a kept stack's: "
                "`nox -s logs`"
            )

    def _wind_up(self) -> None:
        made = self.checks.stop()
        try:
            if self.stack is not None and self.claim is not None:
                self.ending = finish(
                    self.stack,
                    self.claim,
                    self.steps,
                    self.masker,
                    keep=self.settings.keep,
                    log_file=self.settings.log_file,
                    failure=self.failure,
                    made=made,
                    times=self.times,
                )
        except TeardownIncomplete as exc:
            self.ending = "left over"
            explain(exc, None, self.console, self.masker)
            if self.failure is None:  # else the check that failed stays the news
                raise
        finally:
            self.checks.released()

    def ended(
        self, attachments: Sequence[Path], specs: Sequence[Spec], specs_off: str | None
    ) -> Ended:
        """The claim let go, the spans judged and written: how the run ended."""
        if self.claim is not None:
            # A stack this run did not get to remove stays the reaper's to remove.
            self.claim.close(release=self.ending != "untouched")
        since = self.started_wall - _FILE_CLOCK_LAG_SECONDS
        fresh = [p for p in attachments if p.is_file() and p.stat().st_mtime >= since]
        collector = self.collector
        read_log_spans(self.settings.log_file, collector)
        clock_notes = clocks.said(collector.clock_offsets())
        for note in clock_notes:
            self.console.line(f"smoke: trace: {note}")
        judged = judge(
            specs, specs_off, self.stack, collector, self.steps, self.console, self.masker
        )
        if judged.failure is not None and self.result == "passed":
            self.result, self.failure = "failed", judged.failure
        written = trace_files(
            self.settings.log_file,
            collector,
            self.steps,
            self.times,
            self.failure,
            self.masker,
            fresh,
            self.console,
            judged.marked,
            clock_notes,
        )
        return Ended(
            result=self.result,
            stack=self.stack,
            failure=self.failure,
            stopped_by=self.stopped_by,
            ending=self.ending,
            steps=tuple(self.steps.results),
            storage_driver=self.driver,
            masker=self.masker,
            started_at=self.started_at,
            duration=clock.monotonic() - self.started,
            slowest=self._slowest(),
            trace_files=written,
            trace_ids=tuple(self.tracer.steps().items()),
            specs=judged.outcomes,
            specs_seconds=judged.seconds,
        )

    def _slowest(self) -> str | None:
        """Where the time went: in a step that ran out of time, else the whole run
        (its budget)."""
        failure = self.failure
        if failure is not None and failure.timed_out:
            return self.collector.slowest(failure.step, within=failure.elapsed)
        return self.collector.slowest()
