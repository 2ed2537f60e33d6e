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

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from . import signals
from .console import Console
from .errors import CheckFailed, ComposeFailed
from .masking import Masker
from .options import RunOptions
from .probes import QUESTION, Probe, excerpt, validate_contract
from .stack import CHAT, WEB, Stack
from .steps import StepResult, StepRunner
from .teardown import remove_stack

_LOG_TAIL_LINES = 20
_STDERR_TAIL_LINES = 15


@dataclass(frozen=True)
class RunOutcome:
    passed: bool
    profile: str
    steps: tuple[StepResult, ...]
    duration: float
    kept: bool
    storage_driver: str | None
    failure: CheckFailed | None = None


def run_smoke(
    options: RunOptions,
    *,
    console: Console,
    stack: Stack | None = None,
    transport: httpx.BaseTransport | None = None,
) -> RunOutcome:
    """Run the smoke. Raises ``CheckFailed`` (after explaining it), ``Interrupted``
    or an ``EnvironmentProblem``; the stack is torn down on every path."""
    started = time.monotonic()
    if options.uses_compose and stack is None:
        stack = Stack(options.target)
    driver: str | None = None
    masker = Masker()
    if stack is not None:
        driver = stack.preflight()
        masker = Masker(stack.secrets())  # also validates the compose file
        if not stack.resources().containers:  # a kept stack holds its own ports
            stack.check_ports_free()
    where = f"project {options.target.project}" if stack else f"web {options.web_url}"
    console.line(f"smoke: profile {options.profile}, {where}")
    steps = StepRunner(console)
    failure: CheckFailed | None = None
    try:
        with signals.interruptible(), httpx.Client(transport=transport) as client:
            try:
                _checks(options, stack, steps, client)
            except CheckFailed as exc:
                failure = exc
                _explain(exc, stack, console, masker)
                raise
            finally:
                if stack is not None:
                    with signals.shielded():
                        _finish(options, stack, steps, console, masker)
    finally:
        _summary(options, steps, console, time.monotonic() - started, failure)
    return RunOutcome(
        passed=True,
        profile=options.profile,
        steps=tuple(steps.results),
        duration=time.monotonic() - started,
        kept=options.keep_stack,
        storage_driver=driver,
    )


def _checks(
    options: RunOptions, stack: Stack | None, steps: StepRunner, client: httpx.Client
) -> None:
    if stack is not None:
        steps.run(
            "compose up",
            lambda: stack.up(build=options.build, install_local_stack=options.install_local_stack),
        )
        web_url, chat_url = stack.url(WEB), stack.url(CHAT)
    else:
        web_url, chat_url = str(options.web_url), str(options.chat_url)  # parse() pairs them
    probe = Probe(web_url=web_url, chat_url=chat_url, timeout=options.timeout, client=client)

    steps.run("chat health", lambda: probe.chat_health("chat health"))
    steps.run(
        "chat dependency health (db)",
        lambda: probe.chat_dependencies("chat dependency health (db)"),
        note=lambda payload: f"db {payload['dependencies']['db'].get('latency_ms', '?')} ms",
    )
    response = steps.run(
        "web -> chat proxy call", lambda: probe.proxy_call("web -> chat proxy call")
    )
    answer, payload = steps.run(
        "response contract", lambda: validate_contract("response contract", response)
    )
    if options.profile == "full":
        steps.run("web page", lambda: probe.web_page("web page"))
        steps.run(
            "conversation persisted",
            lambda: probe.conversation(
                "conversation persisted", payload.get("conversation_id"), QUESTION, answer
            ),
        )
        if options.install_local_stack:
            steps.run("chat local stack", lambda: probe.local_stack("chat local stack", "local"))


def _explain(failure: CheckFailed, stack: Stack | None, console: Console, masker: Masker) -> None:
    """The failing step's message, its hint and the evidence, on the console."""
    console.detail(masker(str(failure)))
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
            console.detail("\n".join(f"  {masker(line)}" for line in logs.splitlines()))


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


def write_logs(stack: Stack, path: Path, masker: Masker) -> int:
    """Write the whole stack's logs, masked, to ``path``; return the line count."""
    text = masker(stack.logs())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return len(text.splitlines())


def _summary(
    options: RunOptions,
    steps: StepRunner,
    console: Console,
    seconds: float,
    failure: CheckFailed | None,
) -> None:
    ran = len(steps.results)
    failed = steps.failed
    if failed is None and failure is None and ran and all(r.passed for r in steps.results):
        verdict = "PASS"
        what = f"{ran} steps"
    elif failed is not None:
        verdict = "FAIL"
        what = f"{failed.name} failed ({ran} steps run)"
    else:
        verdict = "STOPPED"
        what = f"{ran} steps run"
    kept = ""
    if options.uses_compose:
        kept = (
            f"; stack kept (project {options.target.project}): `nox -s logs`, `nox -s teardown`"
            if options.keep_stack
            else "; stack removed"
        )
        if options.log_file.exists():
            kept += f"; logs in {options.log_file}"
    console.line(f"{verdict}  smoke {options.profile}: {what} in {seconds:.1f}s{kept}")
