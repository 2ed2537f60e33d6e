"""The smoke run: the plan's steps in order, each timed, teardown guaranteed.

Whatever happens in the steps (a failed check, an exception, Ctrl-C, SIGTERM,
SIGHUP), the logs are written and the stack is removed before the run returns or
raises, unless it is to be kept. A death no handler sees is the reaper's to clean up.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from smoke import lifecycle, signals
from smoke.checks.probes import Endpoints, FixedEndpoints, Probe
from smoke.options import RunOptions
from smoke.plan import Context, dropped_steps, listed_resources, planned_steps, steps_for
from smoke.report.budgets import evaluate
from smoke.report.console import Console
from smoke.report.errors import BudgetExceeded, CheckFailed, Interrupted
from smoke.report.evidence import explain
from smoke.report.files import publish_to_github, write_junit, write_metrics
from smoke.report.masking import Masker
from smoke.stack import claim as guard
from smoke.stack.compose import CHAT, WEB, Resources, Stack
from smoke.stack.teardown import TeardownIncomplete
from smoke.steps import Outcome, Result, StepRunner

__all__ = ["planned_steps", "run_smoke"]


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
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    if options.uses_compose and stack is None:
        stack = Stack(options.target, env=env)
    driver: str | None = None
    masker = Masker()
    # httpx builds its TLS context when a client is made: do that beside the checks.
    maker = ThreadPoolExecutor(max_workers=1)
    client_made = maker.submit(httpx.Client, transport=transport)
    maker.shutdown(wait=False)
    try:
        if stack is not None:
            prepared = lifecycle.prepare(
                stack,
                console,
                max_run_seconds=options.budgets.max_duration_seconds,
                prebuilt=not options.build,
                install_local_stack=options.install_local_stack,
                kept=options.keep == "always",
            )
            driver, masker = prepared.storage_driver, prepared.masker
        # What steps need of the machine (a browser), found before anything starts.
        try:
            needs = {s.name: s.prepare() for s in steps_for(options) if s.prepare is not None}
        except BaseException:
            if stack is not None:
                lifecycle.give_back(stack)
            raise
    except BaseException:
        client_made.result().close()
        raise
    where = f"project {options.target.project}" if stack else f"web {options.web_url}"
    console.line(f"smoke: profile {options.profile}, {where}")
    for note in options.notes:
        console.line(f"smoke: note: {note}")
    steps = StepRunner(console)
    claim = guard.Claim(stack, options) if stack is not None else None
    result: Result = "error"
    failure: CheckFailed | None = None
    stopped_by: str | None = None
    ending: lifecycle.Ending = "untouched"
    try:
        with signals.interruptible(), client_made.result() as client:
            endpoints: Endpoints = stack or FixedEndpoints(
                str(options.web_url), str(options.chat_url)
            )
            probe = Probe(endpoints, options.timeout, client, watcher=stack)
            context = Context(options, probe, stack, needs)
            try:
                if claim is not None:
                    claim.start()
                _checks(context, steps)
            except CheckFailed as exc:
                failure = exc
                explain(exc, stack, console, masker)
                raise
            finally:
                # The shield first: a signal now must not skip the teardown below.
                with signals.shielded(lifecycle.finishing(console)):
                    context.pool.shutdown(wait=False, cancel_futures=True)
                    if stack is not None and claim is not None:
                        made = listed_resources(context)
                        try:
                            ending = _finish(
                                options, stack, claim, steps, console, masker, failure, made
                            )
                        except TeardownIncomplete as exc:
                            ending = "left over"
                            explain(exc, None, console, masker)
                            if failure is None:  # else the check that failed stays the news
                                raise
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
            for thing in needs.values():
                thing.close()
            outcome = _outcome(
                options,
                stack,
                steps,
                env,
                result=result,
                failure=failure,
                stopped_by=stopped_by,
                storage_driver=driver,
                duration=time.monotonic() - started,
                started_at=started_at,
            )
            _summary(options, outcome, console, ending=ending)
            _publish(options, outcome, console, masker, env)
    if outcome.result == "over_budget":
        raise BudgetExceeded(
            "budget exceeded: " + "; ".join(v.describe() for v in outcome.exceeded),
            budget=outcome.exceeded[0].name,
            measured=outcome.exceeded[0].measured,
            limit=outcome.exceeded[0].limit,
        )
    return outcome


def _outcome(
    options: RunOptions,
    stack: Stack | None,
    steps: StepRunner,
    env: Mapping[str, str],
    *,
    result: Result,
    failure: CheckFailed | None,
    stopped_by: str | None,
    storage_driver: str | None,
    duration: float,
    started_at: str,
) -> Outcome:
    # Image sizes cost two docker calls: measure them only when something reports them.
    wants_costs = bool(
        options.metrics_file
        or options.junit_xml
        or options.enforce_budgets
        or env.get("GITHUB_STEP_SUMMARY")
    )
    chat_image = web_image = None
    if stack is not None and wants_costs:
        local = options.install_local_stack
        with ThreadPoolExecutor(max_workers=2) as pool:
            chat_size = pool.submit(stack.images.size, CHAT, install_local_stack=local)
            web_size = pool.submit(stack.images.size, WEB)
        chat_image, web_image = chat_size.result(), web_size.result()
    verdicts = evaluate(
        options.budgets, duration=duration, chat_image=chat_image, web_image=web_image
    )
    if result == "passed" and options.enforce_budgets and any(not v.ok for v in verdicts):
        result = "over_budget"
    return Outcome(
        result=result,
        profile=options.profile,
        project=options.target.project if stack is not None else None,
        planned_steps=planned_steps(options),
        steps=tuple(steps.results),
        duration=duration,
        budgets=options.budgets,
        verdicts=tuple(verdicts),
        chat_image_bytes=chat_image,
        web_image_bytes=web_image,
        storage_driver=storage_driver,
        failure=failure,
        stopped_by=stopped_by,
        started_at=started_at,
        dropped=tuple(dropped_steps(options)),
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


def _checks(context: Context, steps: StepRunner) -> None:
    for step in steps_for(context.options):
        context.results[step.name] = steps.run(
            step.name, functools.partial(step.action, context), note=step.note
        )


def _finish(
    options: RunOptions,
    stack: Stack,
    claim: guard.Claim,
    steps: StepRunner,
    console: Console,
    masker: Masker,
    failure: CheckFailed | None,
    made: Resources | None,
) -> lifecycle.Ending:
    """Logs first, then the teardown unless the stack is kept."""
    lifecycle.capture_logs(stack, options.log_file, masker, console, failure)
    if options.keep == "always" or (options.keep == "on-failure" and failure is not None):
        claim.kept()
        return "kept"
    lifecycle.tear_down(stack, claim, steps.run, known=made)
    return "removed"


def _summary(
    options: RunOptions, outcome: Outcome, console: Console, *, ending: lifecycle.Ending
) -> None:
    ran = len(outcome.steps)
    if outcome.result == "passed":
        verdict, what = "PASS", f"{ran} steps"
    elif outcome.result == "over_budget":
        verdict, what = "FAIL", f"{ran} steps passed but over budget"
    elif outcome.failure is not None:
        verdict, what = "FAIL", f"{outcome.failure.step} failed ({ran} steps run)"
    else:
        verdict, what = "STOPPED", f"{outcome.stopped_by or 'stopped'} ({ran} steps run)"
    extras = [f"{name} dropped ({why})" for name, why in outcome.dropped]
    project = options.target.project
    if options.uses_compose:
        if ending == "kept" and options.keep == "on-failure":
            extras.append(f"stack kept because it failed (project {project})")
        elif ending == "kept":
            extras.append(f"stack kept (project {project}): `nox -s logs`, `nox -s teardown`")
        else:
            extras.append(lifecycle.stack_said(ending, project))
        if options.log_file.exists():
            extras.append(f"logs in {options.log_file}")
    if outcome.exceeded:
        extras.append("over budget: " + ", ".join(v.name for v in outcome.exceeded))
    tail = "".join(f"; {extra}" for extra in extras)
    console.line(f"{verdict}  smoke {options.profile}: {what} in {outcome.duration:.1f}s{tail}")
    if ending == "kept" and options.keep == "on-failure":
        files = " ".join(f"-f {path}" for path in options.target.compose_files)
        console.line(f"  inspect it:  docker compose -p {project} {files} ps -a")
        console.line(f"  its logs:    nox -s logs -- --project {project}")
        console.line(f"  remove it:   nox -s teardown -- --project {project}")
