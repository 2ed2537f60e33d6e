"""A run's end, shielded from signals: the stack's logs (and, beside them, the
containers' times for the timeline), then the teardown, or the stack kept.

    under_shield   the work done once, even when a signal lands just before the shield
    finish         the logs, the times, then the teardown unless the stack is kept
    capture_logs   the whole stack's logs to the log file; never blocks the teardown
    stack_said     the summary's words for a stack that was not kept
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from smoke import signals
from smoke.errors import CheckFailed, EngineCallError, InternalError, Interrupted
from smoke.masking import Masker, excerpt
from smoke.options import Keep
from smoke.report.console import Console
from smoke.stack import claim as claims
from smoke.stack.compose import Stack
from smoke.stack.logs import write_logs
from smoke.stack.state import ContainerTimes, Resources
from smoke.stack.teardown import remove_stack
from smoke.steps import StepRunner

#: How a run left its stack: kept on purpose, removed, partly removed, or not reached.
Ending = Literal["kept", "removed", "left over", "untouched"]

#: How often the shield is put up again when a signal lands just before it is up.
_SHIELD_TRIES = 3


def under_shield(work: Callable[[], None], console: Console) -> Interrupted | None:
    """``work`` under the shield, done once, even when a signal lands in the instant
    before the shield is up: that signal is taken, the shield put up again, and it is
    returned for the caller to raise once the work is done."""
    landed: Interrupted | None = None
    done = False
    for _ in range(_SHIELD_TRIES):
        try:
            with signals.shielded(finishing(console)):
                if not done:
                    work()
                    done = True
            break
        except Interrupted as exc:
            landed = landed or exc
            if done:  # it came just after the shield: the work stands
                break
    if not done:  # every try met a signal first: the work all the same
        work()
    return landed


def finish(
    stack: Stack,
    claim: claims.Claim,
    steps: StepRunner,
    masker: Masker,
    *,
    keep: Keep,
    log_file: Path,
    failure: CheckFailed | None,
    made: Resources | None,
    times: list[ContainerTimes],
) -> Ending:
    """Logs (and, beside them, the containers' times for the timeline) first, then
    the teardown unless the stack is kept."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        timed = pool.submit(stack.times)
        capture_logs(stack, log_file, masker, steps.console, failure)
        with contextlib.suppress(EngineCallError):  # the timeline goes without them
            times.extend(timed.result())
    if keep == "always" or (keep == "on-failure" and failure is not None):
        claim.kept()
        return "kept"
    # The mark goes only with the stack, so a run that claims the project next can
    # never see this run's teardown remove its stack.
    steps.run("teardown", lambda: remove_stack(stack, known=made))
    return "removed"


def stack_said(ending: Ending, project: str) -> str:
    """The summary's words for a stack that was not kept."""
    teardown = f"`nox -s teardown -- --project {project}`"
    if ending == "left over":
        return f"stack NOT fully removed: {teardown}"
    if ending == "untouched":
        return f"stack NOT removed (its reaper will): {teardown}"
    return "stack removed"


def finishing(console: Console) -> Callable[[str], None]:
    """What a signal during the logs and teardown gets: one line, then the work goes on."""

    def said(signal_name: str) -> None:
        console.line(f"smoke: {signal_name} received: finishing the logs and teardown first")

    return said


def capture_logs(
    stack: Stack,
    log_file: Path,
    masker: Masker,
    console: Console,
    failure: CheckFailed | None = None,
) -> None:
    """The whole stack's logs to ``log_file``, and after them the traceback of an
    internal error; never lets a failure block the teardown."""
    try:
        try:
            write_logs(stack, log_file, masker)
        except EngineCallError:
            # Once more: a passing fault of the engine must not cost the logs. (A Ctrl-C
            # never reaches `compose logs`: it runs in a session of its own.)
            write_logs(stack, log_file, masker)
        if isinstance(failure, InternalError):
            with log_file.open("a", encoding="utf-8") as log:
                log.write(masker(f"smoke internal error in {failure.step}:\n{failure.traceback}"))
    except Exception as exc:
        console.detail(f"could not write {log_file}: {excerpt(str(exc), limit=160)}")
