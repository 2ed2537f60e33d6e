"""Before and after the work of any command that starts a stack (run, fuzz): the
checks before anything starts, and the logs and teardown at the end."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from python_on_whales.exceptions import DockerException

from smoke.checks.probes import excerpt
from smoke.report.console import Console
from smoke.report.errors import CheckFailed, InternalError
from smoke.report.files import write_logs
from smoke.report.masking import Masker
from smoke.stack import claim as guard
from smoke.stack.claim import CLAIM_TOKEN, marker_name
from smoke.stack.compose import Resources, Stack
from smoke.stack.teardown import remove_stack


@dataclass(frozen=True)
class Prepared:
    storage_driver: str
    masker: Masker
    #: Whether a stack found in the project is reused (kept, or made by hand).
    reused: bool


def prepare(
    stack: Stack,
    console: Console,
    *,
    max_run_seconds: float,
    prebuilt: bool = False,
    install_local_stack: bool = False,
    kept: bool = False,
) -> Prepared:
    """Engine, Compose, the compose model, this project's claim and the ports, checked
    before anything starts; with ``prebuilt`` (--no-build), that this project has
    built its images. ``kept``: the run keeps its stack (--keep-stack).

    The independent docker calls run side by side, the claim among them; the engine's
    answer is read first, so an unreachable engine is reported as such rather than as
    a failed listing.
    """

    def owned_images() -> None:
        model.result()  # read once, by the task above
        stack.images.require(install_local_stack=install_local_stack)

    with ThreadPoolExecutor(max_workers=5) as pool:
        engine = pool.submit(stack.preflight)
        model = pool.submit(stack.config)
        existing = pool.submit(stack.containers)
        proposal = pool.submit(guard.propose, stack, kept=kept)
        images = pool.submit(owned_images) if prebuilt else None
        try:
            driver = engine.result()
            model.result()
            found = existing.result()
            if images is not None:
                images.result()
        except BaseException:
            _give_up(stack, proposal)
            raise
    reused = guard.claim(
        stack,
        console,
        stack_exists=bool(found),
        max_run_seconds=max_run_seconds,
        kept=kept,
        first=proposal,
    )
    try:
        stack.check_ports(reachable_only=reused)  # a kept stack holds its own ports
    except BaseException:
        give_back(stack)
        raise
    return Prepared(driver, Masker(stack.secrets()), reused=reused)


def give_back(stack: Stack) -> None:
    """The run stops after claiming the project and before starting anything: the
    project is free again."""
    stack.remove_mark(marker_name(stack.project))


def _give_up(stack: Stack, proposal: Future[guard.Proposal]) -> None:
    """The run stops before ``up``: if the claim made beside the checks is this
    run's, give the project back."""
    try:
        mine, found = proposal.result()
    except Exception:
        return
    if found.get(CLAIM_TOKEN) == mine[CLAIM_TOKEN]:
        give_back(stack)


#: How a run left its stack: kept on purpose, removed, partly removed, or not reached.
Ending = Literal["kept", "removed", "left over", "untouched"]


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
        except DockerException:
            # compose takes Ctrl-C for itself even here (Go's signal.Notify unblocks
            # it): once more, so a second press is needed to lose the logs.
            write_logs(stack, log_file, masker)
        if isinstance(failure, InternalError):
            with log_file.open("a", encoding="utf-8") as log:
                log.write(masker(f"smoke internal error in {failure.step}:\n{failure.traceback}"))
    except Exception as exc:
        console.detail(f"could not write {log_file}: {excerpt(str(exc), limit=160)}")


def tear_down(
    stack: Stack,
    claim: guard.Claim,
    run_step: Callable[[str, Callable[[], Resources]], Resources],
    *,
    known: Resources | None = None,
) -> None:
    """Remove the stack (as the step ``teardown``), then give up the project's claim.
    ``known``: what the stack was found to hold, so it is removed without a listing."""
    try:
        run_step("teardown", lambda: remove_stack(stack, known=known))
    finally:
        unmarked = claim.removed()
    unmarked.exception()  # waited for; a mark that cannot be cleared is only a mark
