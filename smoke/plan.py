"""The steps of a run, as data: a name, what the step does, and which runs have it.

``planned_steps`` and the runner read the same table, so the list of steps is
written once; a new check is a new row, not a new branch.

  compose up                     build and start db, chat and web
  chat health                    GET chat /health
  chat dependency health (db)    GET chat /health/dependencies
  web -> chat proxy call         POST web /api/chat/service
  response contract              the runbook's rule, then chat's published schema
  (full) web page                GET web /
  (full) web page (browser)      the question asked through the page, in Chromium
  (full) conversation persisted  the exchange read back from chat
  (full, local) chat local stack / semantic retrieval
  teardown                       unless the stack is kept

The local stack's promise, checked from outside: a question in other words than
its product's (no word in common) finds that product first, through web's proxy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from smoke.checks import browser
from smoke.checks import contract as schema
from smoke.checks.contract import validate_contract
from smoke.checks.probes import QUESTION, Probe
from smoke.checks.services import failed_job, wait_for
from smoke.errors import ComposeFailed, ContractDrift, SemanticMismatch, ServiceStopped
from smoke.masking import excerpt
from smoke.options import RunOptions
from smoke.stack.changes import said_changes, save_logs_before_up
from smoke.stack.compose import WEB, Stack
from smoke.stack.services import extra_services
from smoke.stack.state import Resources, ServiceState
from smoke.trace.context import BUILD_PHASE, UP_PHASE, Tracer

TEARDOWN = "teardown"


class Closeable(Protocol):
    """What a step's ``prepare`` took: let go without waiting, then waited for."""

    def begin_close(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class Context:
    """What the steps of one run share."""

    options: RunOptions
    probe: Probe
    stack: Stack | None = None
    #: What each step's ``prepare`` found before the run started, by step name.
    prepared: dict[str, Any] = field(default_factory=dict)
    #: Each finished step's value, by step name.
    results: dict[str, Any] = field(default_factory=dict)
    #: Work a step starts for a later one, off the critical path.
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1))
    #: The waits for the services a team's compose file adds, side by side.
    waits: ThreadPoolExecutor | None = None
    background: dict[str, Future[Any]] = field(default_factory=dict)
    #: The run found the project's stack already there (kept by an earlier run).
    reused: bool = False
    #: The run's tracer: for the browser's requests, and a step's background work.
    tracer: Tracer = field(default_factory=lambda: Tracer(enabled=False))
    #: What the running step is doing now, for its progress line (``StepRunner.say``).
    say: Callable[[str], None] = lambda detail: None


@dataclass(frozen=True)
class Step:
    name: str
    action: Callable[[Context], Any]
    applies: Callable[[RunOptions], bool] = lambda options: True
    #: A short note for the step's line, from its value.
    note: Callable[[Any], str] | None = None
    #: Finds what the step needs of the machine before anything starts; raises an
    #: ``EnvironmentProblem`` (exit 2) if it is not there. What it returns is closed
    #: when the run ends.
    prepare: Callable[[], Closeable] | None = None
    #: Why a run that would have the step goes without it, said in the summary.
    dropped: Callable[[RunOptions], str | None] = lambda options: None
    #: Steps this one's outcome adds right after it (one per extra service after `up`).
    then: Callable[[Context], Sequence[Step]] | None = None
    #: The step whose answer this one judges (it makes no request of its own): its
    #: failure is explained from that step's trace.
    judges: str | None = None


@dataclass(frozen=True)
class Contract:
    answer: str
    payload: dict[str, Any]
    note: str


def _full(options: RunOptions) -> bool:
    return options.profile == "full"


def _local(options: RunOptions) -> bool:
    return _full(options) and options.stack.install_local_stack


def _compose_up(ctx: Context) -> str:
    """Starts the stack; says which services of a kept stack it started again, and
    which it recreated and why (their logs from before are saved first)."""
    assert ctx.stack is not None
    before = ctx.stack.states() if ctx.reused else {}
    earlier_logs = (
        save_logs_before_up(ctx.stack, ctx.options.stack.log_file, before) if before else None
    )
    local = ctx.options.stack.install_local_stack
    try:
        if ctx.options.stack.build:  # its own span: the page shows the build apart from `up`
            with ctx.tracer.phase(BUILD_PHASE):
                ctx.stack.build(install_local_stack=local, say=ctx.say)
        with ctx.tracer.phase(UP_PHASE):
            ctx.stack.up(build=False, install_local_stack=local, timeout=ctx.options.stack.timeout)
    except ComposeFailed as failure:
        replaced = said_changes(ctx.stack, before, earlier_logs)
        if replaced:  # said with the failure: the change may be its cause
            failure.hint = f"{failure.hint}; {replaced}"
        # `up` stops when a job others wait for fails: the engine names it, not stderr.
        job = failed_job(ctx.stack, extra_services(ctx.stack.config()))
        if job is None:
            raise
        raise job from failure
    # What `up` made, listed off the critical path: the teardown removes it directly.
    ctx.background["resources"] = ctx.pool.submit(ctx.stack.resources, names=False)
    # Web's port is looked up while chat's health is waited for (a listing and an inspect).
    ctx.probe.look_up_beside(ctx.pool, WEB)
    if ctx.options.stack.build:  # the images this build replaced, off the critical path too
        ctx.background["replaced images"] = ctx.pool.submit(ctx.stack.images.remove_replaced)
    replaced = said_changes(ctx.stack, before, earlier_logs)
    stopped = [
        f"{name} (was {state.status})"
        for name, state in before.items()
        if state.status != "running" and name not in replaced
    ]
    said = [f"started again: {', '.join(stopped)}"] if stopped else []
    if replaced:
        said.append(replaced)
    return "; ".join(said)


def _attach(ctx: Context) -> str:
    """The running stack as it is: every service must be running; nothing is started."""
    assert ctx.stack is not None
    states = ctx.stack.states()
    stopped = {name: state for name, state in states.items() if state.status != "running"}
    if not stopped:
        return f"{len(states)} services running, as they are"
    if states.get("chat") is not None and "chat" not in stopped:
        # One traced look through chat, so the trace can say what the outage does.
        with contextlib.suppress(Exception):
            ctx.probe.get("chat", "/health/dependencies")
    said = "; ".join(f"{name} is {_stopped(state)}" for name, state in stopped.items())
    fixes = "; ".join(_fix(ctx.stack.project, name, state) for name, state in stopped.items())
    raise ServiceStopped(
        f"{said}; nothing was started or restarted (--attach)",
        services=tuple(stopped),
        hint=f"--attach starts nothing: {fixes}; or rerun without --attach",
    )


def _stopped(state: ServiceState) -> str:
    """The engine's state in its own word; an exit code only where one exists."""
    if state.status == "paused":
        return "paused"
    if state.status == "created":
        return "created, never started"
    if state.status == "restarting":
        return f"restarting (last exit code {state.exit_code})"
    since = f" at {state.finished_at[:19].replace('T', ' ')} UTC" if state.finished_at else ""
    return f"{state.status} (exit code {state.exit_code}{since})"


def _fix(project: str, service: str, state: ServiceState) -> str:
    """What brings the service back, as the engine's state allows."""
    compose = f"docker compose -p {project}"
    if state.status == "paused":
        return f"`{compose} unpause {service}`"
    if state.status == "restarting":
        return f"{service} is being restarted by its restart policy: read its last log lines"
    if state.status == "dead":
        return f"`{compose} rm -f {service}` (the engine could not stop it cleanly)"
    return f"`{compose} start {service}`"


def _extra_steps(ctx: Context) -> list[Step]:
    """A step per service beyond the runbook's three; their waits start together now."""
    assert ctx.stack is not None
    extras = extra_services(ctx.stack.config())
    if not extras:
        return []
    stack, timeout = ctx.stack, ctx.options.stack.timeout
    ctx.waits = ThreadPoolExecutor(max_workers=len(extras), thread_name_prefix="wait")
    waiting = {extra: ctx.waits.submit(wait_for, stack, extra, timeout) for extra in extras}
    return [
        Step(f"{extra.kind} {extra.name}", _awaiting(done), note=str)
        for extra, done in waiting.items()
    ]


def _awaiting(done: Future[str]) -> Callable[[Context], str]:
    return lambda ctx: done.result()


def listed_resources(ctx: Context) -> Resources | None:
    """What the background listing after `up` found, if it is done."""
    listing = ctx.background.get("resources")
    if listing is None or not listing.done() or listing.cancelled():
        return None  # not there, not done, or cancelled when the run was stopped
    if listing.exception() is not None:
        return None
    found: Resources = listing.result()
    return found


def _db_latency(payload: Any) -> str:
    return f"db {payload['dependencies']['db'].get('latency_ms', '?')} ms"


def _dependencies(ctx: Context) -> Any:
    # chat answers by now and mostly waits for db: fetch its contract meanwhile.
    fetch = ctx.tracer.carry(lambda: ctx.probe.get("chat", schema.CONTRACT_PATH))
    ctx.background["schema"] = ctx.pool.submit(schema.load, fetch)
    return ctx.probe.chat_dependencies()


def _response_contract(ctx: Context) -> Contract:
    response = ctx.results["web -> chat proxy call"]
    answer, payload = validate_contract(response)
    try:
        broken = ctx.background["schema"].result().violations(payload)
    except schema.NoSchema as exc:
        if ctx.options.strict_contract:
            raise ContractDrift(
                f"response contract: no schema to check against (--strict-contract): chat {exc}",
                hint="chat must publish its OpenAPI document at GET /openapi.json",
            ) from None
        return Contract(answer, payload, f"runbook rule only: chat {exc}")
    if broken:
        raise ContractDrift(
            "response contract drift against chat's schema: " + "; ".join(broken),
            status=response.status_code,
            body=excerpt(response.text),
        )
    return Contract(answer, payload, "matches chat's /openapi.json")


def _browser_page(ctx: Context) -> str:
    """Says the answer was shown, and that the browser was started again if it went
    away under the step."""
    session: browser.Session = ctx.prepared["web page (browser)"]
    session.ask(
        ctx.probe.url("web", ""),
        QUESTION,
        timeout=ctx.options.stack.timeout,
        screenshot=ctx.options.screenshot_path,
        headers=ctx.tracer.headers("browser page"),
    )
    if session.went_away:
        return f"answer shown (on a fresh browser: the first went away: {session.went_away})"
    if session.network_changed:
        changed = session.network_changed
        return f"answer shown (tried again: the host's network changed under it: {changed})"
    return "answer shown"


def _persisted(ctx: Context) -> None:
    contract: Contract = ctx.results["response contract"]
    ctx.probe.conversation(contract.payload.get("conversation_id"), QUESTION, contract.answer)


STEPS: tuple[Step, ...] = (
    Step(
        "compose up",
        _compose_up,
        lambda options: options.stack.uses_compose and not options.stack.attach,
        note=str,
        then=_extra_steps,
    ),
    Step("attach", _attach, lambda options: options.stack.attach, note=str),
    Step("chat health", lambda ctx: ctx.probe.chat_health()),
    Step("chat dependency health (db)", _dependencies, note=_db_latency),
    Step("web -> chat proxy call", lambda ctx: ctx.probe.proxy_call()),
    Step(
        "response contract",
        _response_contract,
        note=lambda contract: contract.note,
        judges="web -> chat proxy call",
    ),
    Step("web page", lambda ctx: ctx.probe.web_page(), _full),
    Step(
        "web page (browser)",
        _browser_page,
        lambda options: _full(options) and options.browser,
        note=str,
        # Found before anything starts (exit 2 if none), started beside `up`.
        prepare=lambda: browser.start(browser.find_browser()),
        dropped=lambda options: "--no-browser" if _full(options) and not options.browser else None,
    ),
    Step("conversation persisted", _persisted, _full),
    Step(
        "chat local stack",
        lambda ctx: ctx.probe.local_stack("local"),
        _local,
        note=lambda health: f"{health.get('model')}, {health.get('dimension')} dimensions",
    ),
    Step("semantic retrieval", lambda ctx: check_semantic_retrieval(ctx.probe), _local, note=str),
)


def steps_for(options: RunOptions) -> tuple[Step, ...]:
    return tuple(step for step in STEPS if step.applies(options))


def planned_steps(options: RunOptions) -> tuple[str, ...]:
    """The steps a run with these options performs, in order."""
    names = [step.name for step in steps_for(options)]
    if options.stack.uses_compose and options.stack.keep != "always":
        names.append(TEARDOWN)
    return tuple(names)


def dropped_steps(options: RunOptions) -> list[tuple[str, str]]:
    """(step, why) for each step this run goes without."""
    return [(step.name, why) for step in STEPS if (why := step.dropped(options))]


#: Questions in other words than their products' (each shares no word with its
#: product's name, category or description: a test holds this), and the product
#: each means. The pinned model ranks each first by 0.1 or more.
PARAPHRASES = (
    ("cozy bedding for chilly nights outdoors", "BAG-001"),
    ("shoes that keep my feet dry on muddy paths", "BOOT-001"),
    ("keep me dry in stormy weather", "JACKET-001"),
)
#: How far the meant product must score above the next one: ranking by meaning, not
#: a near tie that a neighbouring product could win.
MIN_MARGIN = 0.05


def check_semantic_retrieval(probe: Probe) -> str:
    """Each paraphrase finds its product first, by ``MIN_MARGIN`` over the second
    when chat reports its scores."""
    margins: list[float] = []
    for question, sku in PARAPHRASES:
        response = probe.proxy_call(question)
        ranking, scores = _ranking(response)
        if not isinstance(ranking, list) or ranking[:1] != [sku]:
            raise SemanticMismatch(
                f'asked "{question}" (no word in common with {sku}): expected '
                f"{sku} first in sources, got {ranking!r}",
                status=response.status_code,
                body=excerpt(response.text),
            )
        if len(scores) >= 2:
            margin = round(scores[0] - scores[1], 4)  # chat reports 4 decimals
            if margin < MIN_MARGIN:
                raise SemanticMismatch(
                    f'asked "{question}": {sku} first by {margin:.3f} only (scores '
                    f"{scores[:2]}); retrieval by meaning should lead by {MIN_MARGIN} or more",
                    status=response.status_code,
                    body=excerpt(response.text),
                )
            margins.append(margin)
    said = f"{len(PARAPHRASES)} paraphrases, each its product first"
    return said + (f" (margins {', '.join(f'{m:.2f}' for m in margins)})" if margins else "")


def _ranking(response: httpx.Response) -> tuple[Any, list[float]]:
    """The answer's sources and, when chat reports them, their scores."""
    try:
        payload: Any = response.json()
    except ValueError:
        return None, []
    if not isinstance(payload, dict):
        return None, []
    scores = payload.get("scores")
    numbers = (
        [float(s) for s in scores]
        if isinstance(scores, list) and all(isinstance(s, int | float) for s in scores)
        else []
    )
    return payload.get("sources"), numbers
