"""The smoke run: the runbook's steps in order, each timed, teardown guaranteed.

1. compose up                    build and start db, chat and web
2. chat health                   GET chat /health
3. chat dependency health (db)   GET chat /health/dependencies
4. web -> chat proxy call        POST web /api/chat/service
5. response contract             a non-empty string 'answer' or 'response'
   (full profile) web page, conversation persisted, chat local stack
6. teardown                      unless the stack is to be kept

Whatever happens in 1-5 (a failed check, an exception, Ctrl-C, SIGTERM), the logs
are written and the stack is removed before the run returns or raises.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from . import signals
from .budgets import evaluate
from .console import Console
from .errors import BudgetExceeded, CheckFailed, ComposeFailed, Interrupted
from .logfile import chronological, write_logs
from .masking import Masker
from .options import RunOptions
from .outcome import Outcome, Result
from .probes import QUESTION, Endpoints, FixedEndpoints, Probe, excerpt, validate_contract
from .reports import publish_to_github, write_junit, write_metrics
from .stack import CHAT, WEB, Stack
from .steps import StepRunner
from .teardown import remove_stack

RUNBOOK_CHECKS = (
    "chat health",
    "chat dependency health (db)",
    "web -> chat proxy call",
    "response contract",
)
_LOG_TAIL_LINES = 20
_STDERR_TAIL_LINES = 15


def planned_steps(options: RunOptions) -> tuple[str, ...]:
    """The steps a run with these options performs, in order."""
    steps = ["compose up"] if options.uses_compose else []
    steps += list(RUNBOOK_CHECKS)
    if options.profile == "full":
        steps += ["web page", "conversation persisted"]
        if options.install_local_stack:
            steps.append("chat local stack")
    if options.uses_compose and not options.keep_stack:
        steps.append("teardown")
    return tuple(steps)


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
    ``EnvironmentProblem`` or ``BudgetExceeded``; the stack is torn down on every path.
    """
    env = os.environ if env is None else env
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    if options.uses_compose and stack is None:
        stack = Stack(options.target)
    driver: str | None = None
    masker = Masker()
    if stack is not None:
        driver, masker = _prepare(stack)
    where = f"project {options.target.project}" if stack else f"web {options.web_url}"
    console.line(f"smoke: profile {options.profile}, {where}")
    steps = StepRunner(console)
    result: Result = "error"
    failure: CheckFailed | None = None
    stopped_by: str | None = None
    try:
        with signals.interruptible(), httpx.Client(transport=transport) as client:
            try:
                _checks(options, stack, steps, client)
            except CheckFailed as exc:
                _explain(exc, stack, console, masker)
                raise
            finally:
                if stack is not None:
                    with signals.shielded():
                        _finish(options, stack, steps, console, masker)
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
            _summary(options, outcome, console)
            _publish(options, outcome, console, masker, env)
    if outcome.result == "over_budget":
        raise BudgetExceeded(
            "budget exceeded: " + "; ".join(v.describe() for v in outcome.exceeded),
            budget=outcome.exceeded[0].name,
            measured=outcome.exceeded[0].measured,
            limit=outcome.exceeded[0].limit,
        )
    return outcome


def _prepare(stack: Stack) -> tuple[str, Masker]:
    """Engine, Compose, the compose model and the ports, checked before anything starts.

    The independent docker calls run side by side; the engine's answer is read first,
    so an unreachable engine is reported as such rather than as a failed listing.
    """
    with ThreadPoolExecutor(max_workers=3) as pool:
        engine = pool.submit(stack.preflight)
        model = pool.submit(stack.config)
        existing = pool.submit(stack.resources, names=False)
        driver = engine.result()
        model.result()
        kept = bool(existing.result().containers)
    if not kept:  # a kept stack holds its own ports
        stack.check_ports_free()
    return driver, Masker(stack.secrets())


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
        chat_image, web_image = stack.image_size(CHAT), stack.image_size(WEB)
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
    )


def _publish(
    options: RunOptions, outcome: Outcome, console: Console, masker: Masker, env: Mapping[str, str]
) -> None:
    """Write the reports; a report that cannot be written is said, not fatal."""
    writers: list[tuple[str, Callable[[], None]]] = []
    if options.metrics_file:
        path = options.metrics_file
        writers.append((str(path), lambda: write_metrics(outcome, path, masker)))
    if options.junit_xml:
        junit = options.junit_xml
        writers.append((str(junit), lambda: write_junit(outcome, junit, masker)))
    for name, write in writers:
        try:
            write()
        except OSError as exc:
            console.line(f"could not write {name}: {exc}")
    annotation = publish_to_github(outcome, masker, env)
    if annotation:
        console.line(annotation)


def _checks(
    options: RunOptions, stack: Stack | None, steps: StepRunner, client: httpx.Client
) -> None:
    if stack is not None:
        steps.run(
            "compose up",
            lambda: stack.up(build=options.build, install_local_stack=options.install_local_stack),
        )
        endpoints: Endpoints = stack  # ports are looked up inside the waits
    else:
        endpoints = FixedEndpoints(str(options.web_url), str(options.chat_url))
    probe = Probe(endpoints=endpoints, timeout=options.timeout, client=client)

    steps.run("chat health", lambda: probe.chat_health())
    steps.run(
        "chat dependency health (db)",
        lambda: probe.chat_dependencies(),
        note=lambda payload: f"db {payload['dependencies']['db'].get('latency_ms', '?')} ms",
    )
    response = steps.run("web -> chat proxy call", lambda: probe.proxy_call())
    answer, payload = steps.run("response contract", lambda: validate_contract(response))
    if options.profile == "full":
        steps.run("web page", lambda: probe.web_page())
        steps.run(
            "conversation persisted",
            lambda: probe.conversation(payload.get("conversation_id"), QUESTION, answer),
        )
        if options.install_local_stack:
            steps.run("chat local stack", lambda: probe.local_stack("local"))


def _explain(failure: CheckFailed, stack: Stack | None, console: Console, masker: Masker) -> None:
    """The failing step's message, its hint and the evidence, on the console."""
    console.detail(masker(str(failure)))
    if failure.body and failure.body not in str(failure):
        seen = f"HTTP {failure.status}: " if failure.status else ""
        console.detail(masker(f"body: {seen}{failure.body}"))
    console.detail(f"failure class: {failure.failure_class}")
    console.detail(f"hint: {failure.hint}")
    if isinstance(failure, ComposeFailed) and failure.stderr:
        console.detail("compose said:")
        tail = failure.stderr.splitlines()[-_STDERR_TAIL_LINES:]
        console.detail("\n".join(f"  {masker(line)}" for line in tail))
    if stack is not None:
        try:
            logs = stack.logs(failure.services, tail=_LOG_TAIL_LINES)
        except Exception as exc:  # evidence is best effort; the failure stays the news
            logs = f"(could not read logs: {excerpt(str(exc))})"
        if logs.strip():
            console.detail(f"last log lines ({', '.join(failure.services)}):")
            lines = chronological(logs).splitlines()
            console.detail("\n".join(f"  {masker(line)}" for line in lines))


def _finish(
    options: RunOptions, stack: Stack, steps: StepRunner, console: Console, masker: Masker
) -> None:
    try:
        write_logs(stack, options.log_file, masker)
    except Exception as exc:  # never let log capture block the teardown
        console.detail(f"could not write {options.log_file}: {excerpt(str(exc))}")
    if options.keep_stack:
        return
    steps.run("teardown", lambda: remove_stack(stack))


def _summary(options: RunOptions, outcome: Outcome, console: Console) -> None:
    ran = len(outcome.steps)
    if outcome.result == "passed":
        verdict, what = "PASS", f"{ran} steps"
    elif outcome.result == "over_budget":
        verdict, what = "FAIL", f"{ran} steps passed but over budget"
    elif outcome.failure is not None:
        verdict, what = "FAIL", f"{outcome.failure.step} failed ({ran} steps run)"
    else:
        verdict, what = "STOPPED", f"{outcome.stopped_by or 'stopped'} ({ran} steps run)"
    extras = []
    if options.uses_compose:
        extras.append(
            f"stack kept (project {options.target.project}): `nox -s logs`, `nox -s teardown`"
            if options.keep_stack
            else "stack removed"
        )
        if options.log_file.exists():
            extras.append(f"logs in {options.log_file}")
    if outcome.exceeded:
        extras.append("over budget: " + ", ".join(v.name for v in outcome.exceeded))
    tail = "".join(f"; {extra}" for extra in extras)
    console.line(f"{verdict}  smoke {options.profile}: {what} in {outcome.duration:.1f}s{tail}")
