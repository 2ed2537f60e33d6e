"""The smoke run: the plan's steps, in order and timed, inside the one lifecycle
(``smoke.lifecycle``): the stack torn down on every path unless it is to be kept."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from smoke import lifecycle
from smoke.checks import browser
from smoke.checks.probes import FixedEndpoints
from smoke.ended import Ended
from smoke.errors import BudgetExceeded, CheckFailed, PortUnavailable, SpecFailed
from smoke.finish import Ending, stack_said
from smoke.masking import Masker, quoted
from smoke.options import RunOptions
from smoke.outcome import Outcome, evaluate
from smoke.plan import (
    Closeable,
    Context,
    Step,
    dropped_steps,
    listed_resources,
    planned_steps,
    steps_for,
)
from smoke.report.console import Console
from smoke.report.files import publish_to_github, write_junit, write_metrics
from smoke.report.timeline import TraceFiles
from smoke.stack.compose import CHAT, DB, WEB, Stack
from smoke.stack.state import Resources
from smoke.steps import StepRunner
from smoke.words import counted


def run_smoke(
    options: RunOptions,
    *,
    console: Console,
    stack: Stack | None = None,
    transport: httpx.BaseTransport | None = None,
    env: Mapping[str, str] | None = None,
) -> Outcome:
    """Run the smoke and publish its reports.

    Raises ``CheckFailed`` (after explaining it), ``Interrupted``,
    ``EnvironmentProblem`` or ``BudgetExceeded``; the stack is torn down on every
    path unless it is to be kept.
    """
    env = os.environ if env is None else env

    def report(ended: Ended) -> Outcome:
        outcome = _outcome(options, ended, env)
        _summary(
            options,
            outcome,
            console,
            ending=ended.ending,
            masker=ended.masker,
            trace_files=ended.trace_files,
            urls=_urls(ended.stack) if ended.ending == "kept" and ended.stack else {},
        )
        _publish(options, outcome, console, ended.masker, env)
        return outcome

    checks = _PlanChecks(options)
    screenshot = options.screenshot_path
    outcome = lifecycle.run(
        options.stack,
        checks,
        console=console,
        headline=_headline(options),
        fixed=FixedEndpoints(str(options.web_url), str(options.chat_url)),
        report=report,
        stack=stack,
        transport=transport,
        env=env,
        attachments=(screenshot, browser.browser_trace_path(screenshot)),
        needs=(DB, CHAT, WEB),
        specs=options.specs,
        specs_off=options.specs_off,
    )
    _raise_verdict(outcome)
    return outcome


def _headline(options: RunOptions) -> list[str]:
    where = (
        f"project {options.stack.target.project}"
        if options.stack.uses_compose
        else f"web {options.web_url}"
    )
    return [f"smoke: profile {options.profile}, {where}"] + [
        f"smoke: note: {note}" for note in options.notes
    ]


def _raise_verdict(outcome: Outcome) -> None:
    """A run whose checks passed still fails on a spec, or on a budget."""
    if isinstance(outcome.failure, SpecFailed):  # every check passed; the spans did not
        raise outcome.failure
    if outcome.result == "over_budget":
        worst = outcome.exceeded[0]
        raise BudgetExceeded(
            "budget exceeded: " + "; ".join(v.describe() for v in outcome.exceeded),
            budget=worst.name,
            measured=worst.measured,
            limit=worst.limit,
        )


class _PlanChecks:
    """The plan's steps for these options, as the lifecycle's checks."""

    def __init__(self, options: RunOptions) -> None:
        self._options = options
        self._needs: dict[str, Closeable] = {}
        self._context: Context | None = None

    def prepare(self) -> None:
        # What steps need of the machine (a browser), found before anything starts.
        for step in steps_for(self._options):
            if step.prepare is not None:
                self._needs[step.name] = step.prepare()

    def __call__(self, session: lifecycle.Session) -> None:
        context = Context(
            self._options,
            session.probe,
            session.stack,
            dict[str, Any](self._needs),
            reused=session.reused,
            tracer=session.tracer,
            say=session.steps.say,
        )
        self._context = context
        for step in steps_for(self._options):
            _run_step(step, context, session.steps)
            for added in step.then(context) if step.then else ():  # once the step is done
                _run_step(added, context, session.steps)

    def stop(self) -> Resources | None:
        for need in self._needs.values():  # closing in the shadow of logs and teardown
            need.begin_close()
        if self._context is None:
            return None
        self._context.pool.shutdown(wait=False, cancel_futures=True)
        if self._context.waits is not None:
            self._context.waits.shutdown(wait=False, cancel_futures=True)
        return listed_resources(self._context)

    def released(self) -> None:
        for need in self._needs.values():
            need.close()


def _run_step(step: Step, context: Context, steps: StepRunner) -> None:
    try:
        context.results[step.name] = steps.run(
            step.name, functools.partial(step.action, context), note=step.note
        )
    except CheckFailed as failure:
        failure.judged_step = step.judges  # its trace, when it made no request itself
        raise


def _outcome(options: RunOptions, ended: Ended, env: Mapping[str, str]) -> Outcome:
    # Image sizes cost two docker calls: measure them only when something reports them.
    wants_costs = bool(
        options.metrics_file
        or options.junit_xml
        or options.enforce_budgets
        or env.get("GITHUB_STEP_SUMMARY")
    )
    chat_image = web_image = None
    stack = ended.stack
    if stack is not None and wants_costs:
        local = options.stack.install_local_stack
        with ThreadPoolExecutor(max_workers=2) as pool:
            chat_size = pool.submit(stack.images.size, CHAT, install_local_stack=local)
            web_size = pool.submit(stack.images.size, WEB)
        chat_image, web_image = chat_size.result(), web_size.result()
    verdicts = evaluate(
        options.budgets, duration=ended.duration, chat_image=chat_image, web_image=web_image
    )
    result = ended.result
    if result == "passed" and options.enforce_budgets and any(not v.ok for v in verdicts):
        result = "over_budget"
    return Outcome(
        result=result,
        profile=options.profile,
        project=options.stack.target.project if stack is not None else None,
        planned_steps=planned_steps(options),
        steps=ended.steps,
        duration=ended.duration,
        budgets=options.budgets,
        verdicts=tuple(verdicts),
        chat_image_bytes=chat_image,
        web_image_bytes=web_image,
        storage_driver=ended.storage_driver,
        failure=ended.failure,
        stopped_by=ended.stopped_by,
        started_at=ended.started_at,
        dropped=tuple(dropped_steps(options)),
        slowest=ended.slowest,
        trace_ids=ended.trace_ids,
        specs=ended.specs,
        specs_seconds=ended.specs_seconds,
    )


def _publish(
    options: RunOptions, outcome: Outcome, console: Console, masker: Masker, env: Mapping[str, str]
) -> None:
    """Write the reports; a report that cannot be written is said, not fatal."""
    writers: list[tuple[str, Callable[[], None]]] = []
    if options.metrics_file:
        path = options.metrics_file
        writers.append((str(path), lambda: write_metrics(outcome, path, masker.safe)))
    if options.junit_xml:
        junit = options.junit_xml
        writers.append((str(junit), lambda: write_junit(outcome, junit, masker.safe)))
    for name, write in writers:
        try:
            write()
        except OSError as exc:
            console.line(f"could not write {name}: {exc}")
    try:
        annotation = publish_to_github(outcome, masker.safe, env)
    except OSError as exc:
        console.line(f"could not write the GitHub step summary: {exc}")
        annotation = None
    if annotation:
        console.line(annotation)


def _urls(stack: Stack) -> dict[str, str]:
    """web's and chat's URLs as this machine reaches them; a service without a
    published port is left out."""
    found = {}
    for service in (WEB, CHAT):
        with contextlib.suppress(PortUnavailable):
            found[service] = stack.url(service)
    return found


def _summary(
    options: RunOptions,
    outcome: Outcome,
    console: Console,
    *,
    ending: Ending,
    masker: Masker,
    trace_files: TraceFiles | None = None,
    urls: Mapping[str, str] | None = None,
) -> None:
    ran = len(outcome.steps)
    if outcome.result == "passed":
        verdict, what = "PASS", counted(ran, "step")
    elif outcome.result == "over_budget":
        verdict, what = "FAIL", f"{counted(ran, 'step')} passed but over budget"
    elif outcome.failure is not None:
        verdict, what = "FAIL", f"{outcome.failure.step} failed ({counted(ran, 'step')} run)"
    else:
        verdict, what = "STOPPED", f"{outcome.stopped_by or 'stopped'} ({counted(ran, 'step')} run)"
    extras = [f"{name} dropped ({why})" for name, why in outcome.dropped]
    project = options.stack.target.project
    if options.stack.uses_compose:
        if ending == "kept" and options.stack.keep == "on-failure":
            extras.append(f"stack kept because it failed (project {project})")
        elif ending == "kept":
            extras.append(f"stack kept (project {project}): `nox -s logs`, `nox -s teardown`")
        else:
            extras.append(stack_said(ending, project))
        if options.stack.log_file.exists():
            extras.append(f"logs in {options.stack.log_file}")

    if outcome.exceeded:
        extras.append("over budget: " + ", ".join(v.name for v in outcome.exceeded))
    tail = "".join(f"; {extra}" for extra in extras)
    console.line(f"{verdict}  smoke {options.profile}: {what} in {outcome.duration:.1f}s{tail}")
    if outcome.timed_out and outcome.slowest:
        console.line(quoted(f"  {masker(outcome.slowest)}"))  # span names: service text
    if trace_files is not None:
        spans = trace_files.service_spans
        said = (
            f"{counted(spans, 'span')} from the stack" if spans else "no trace: no span came back"
        )
        console.line(f"  timeline: {trace_files.report} ({said}; {trace_files.trace.name})")
    for service, url in (urls or {}).items():  # where a kept stack answers now
        console.line(f"  {service + ':':<12}{url}/")
    if ending == "kept" and options.stack.keep == "on-failure":
        files = " ".join(f"-f {path}" for path in options.stack.target.compose_files)
        console.line(f"  inspect it:  docker compose -p {project} {files} ps -a")
        console.line(f"  its logs:    nox -s logs -- --project {project}")
        console.line(f"  remove it:   nox -s teardown -- --project {project}")
