"""Before anything starts: the engine, Compose, the compose model, this project's
claim and its ports, and (``--no-build``) the project's own images, checked side by
side; the claim is given back if the run stops before ``up``."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from smoke.masking import Masker
from smoke.report.console import Console
from smoke.stack import claim as claims
from smoke.stack import marks
from smoke.stack.compose import Stack


@dataclass(frozen=True)
class Prepared:
    storage_driver: str
    masker: Masker
    #: The project's stack was there already (kept by an earlier run).
    reused: bool = False


def prepare(
    stack: Stack,
    console: Console,
    *,
    max_run_seconds: float,
    prebuilt: bool,
    install_local_stack: bool,
    kept: bool,
    attach: bool = False,
    needs: tuple[str, ...] = (),
    log_file: Path | None = None,
) -> Prepared:
    """Engine, Compose, the compose model, this project's claim and the ports, checked
    before anything starts; with ``prebuilt`` (--no-build), that this project has built
    its images. ``kept``: the run keeps its stack (--keep-stack). ``attach``: the run
    checks the stack as it is, so there must be one. ``needs``: the services the
    command checks, which the compose model must have; and every image it builds must
    be the project's own, on every path (a refusal is said before anything starts).
    ``log_file``: where the run's logs go; a stale stack's are saved beside it.
    """
    driver, found, proposal = _side_by_side(
        stack, kept=kept, prebuilt=prebuilt, install_local_stack=install_local_stack, needs=needs
    )
    reused = claims.claim(
        stack,
        console,
        stack_exists=bool(found),
        max_run_seconds=max_run_seconds,
        kept=kept,
        first=proposal,
        log_file=log_file,
    )
    try:
        if attach:
            stack.require_running()
        stack.check_ports(reachable_only=reused)  # a kept stack holds its own ports
    except BaseException:
        give_back(stack)
        raise
    return Prepared(driver, Masker(stack.secrets()), reused)


def _side_by_side(
    stack: Stack,
    *,
    kept: bool,
    prebuilt: bool,
    install_local_stack: bool,
    needs: tuple[str, ...],
) -> tuple[str, tuple[str, ...], Future[claims.Proposal]]:
    """The independent docker calls, side by side, the claim's proposal among them;
    the engine's answer is read first, so an unreachable engine is reported as such
    rather than as a failed listing. Returns the storage driver, the project's
    containers and the proposal."""

    def check_structure() -> None:
        model.result()  # read once, by the task above
        stack.require_services(needs)
        stack.images.built(install_local_stack=install_local_stack)  # names it may use

    def owned_images() -> None:
        structure.result()
        stack.images.require(install_local_stack=install_local_stack)

    with ThreadPoolExecutor(max_workers=5) as pool:
        engine = pool.submit(stack.preflight)
        model = pool.submit(stack.config)
        existing = pool.submit(stack.containers)
        proposal = pool.submit(claims.propose, stack, kept=kept)
        structure = pool.submit(check_structure)
        images = pool.submit(owned_images) if prebuilt else None
        try:
            driver = engine.result()
            model.result()
            structure.result()
            found = existing.result()
            if images is not None:
                images.result()
        except BaseException:
            _give_up(stack, proposal)
            raise
    return driver, found, proposal


def give_back(stack: Stack) -> None:
    """The run stops after claiming the project and before starting anything: the
    project is free again."""
    marks.remove_mark(stack)


def _give_up(stack: Stack, proposal: Future[claims.Proposal]) -> None:
    """The run stops before ``up``: if the claim made beside the checks is this
    run's, give the project back."""
    try:
        mine, found = proposal.result()
    except Exception:
        return
    if found.get(claims.CLAIM_TOKEN) == mine[claims.CLAIM_TOKEN]:
        give_back(stack)
