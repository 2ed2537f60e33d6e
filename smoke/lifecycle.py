"""Before and after the work of any command that starts a stack (run, fuzz): the
checks before anything starts, and the logs and teardown at the end."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import guard
from .console import Console
from .logfile import write_logs
from .masking import Masker
from .ownership import LABEL
from .probes import excerpt
from .stack import Resources, Stack
from .teardown import remove_stack


@dataclass(frozen=True)
class Prepared:
    storage_driver: str
    masker: Masker
    #: Whether the project carried run marks (the run clears them before its own).
    marked: bool


def prepare(
    stack: Stack,
    console: Console,
    *,
    max_run_seconds: float,
    prebuilt: bool = False,
    install_local_stack: bool = False,
) -> Prepared:
    """Engine, Compose, the compose model, earlier runs' stacks and the ports,
    checked before anything starts; with ``prebuilt`` (--no-build), that this
    project has built its images.

    The independent docker calls run side by side; the engine's answer is read first,
    so an unreachable engine is reported as such rather than as a failed listing.
    """

    def owned_images() -> None:
        model.result()  # read once, by the task above
        stack.require_images(install_local_stack=install_local_stack)

    with ThreadPoolExecutor(max_workers=5) as pool:
        engine = pool.submit(stack.preflight)
        model = pool.submit(stack.config)
        existing = pool.submit(stack.containers)
        marks = pool.submit(stack.markers, LABEL)
        images = pool.submit(owned_images) if prebuilt else None
        driver = engine.result()
        model.result()
        found_marks = marks.result()
        verdict = guard.inspect(
            stack_exists=bool(existing.result()),
            marks=found_marks,
            max_run_seconds=max_run_seconds,
        )
        if images is not None:
            images.result()
    reused = guard.settle(stack, verdict, console)
    stack.check_ports(reachable_only=reused)  # a kept stack holds its own ports
    return Prepared(driver, Masker(stack.secrets()), marked=bool(found_marks))


def capture_logs(stack: Stack, log_file: Path, masker: Masker, console: Console) -> None:
    """The whole stack's logs to ``log_file``; never lets a failure block the teardown."""
    try:
        write_logs(stack, log_file, masker)
    except Exception as exc:
        console.detail(f"could not write {log_file}: {excerpt(str(exc))}")


def tear_down(
    stack: Stack,
    claim: guard.Claim,
    run_step: Callable[[str, Callable[[], Resources]], Resources],
    *,
    known: Resources | None = None,
) -> None:
    """Remove the stack (as the step ``teardown``), clearing the run's mark beside it.
    ``known``: what the stack was found to hold, so it is removed without a listing."""
    unmarked = claim.removed()
    run_step("teardown", lambda: remove_stack(stack, known=known))
    unmarked.exception()  # waited for; a mark that cannot be cleared is only a mark
