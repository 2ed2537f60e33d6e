"""Remove a stack and its run mark, and prove they are gone: the one removal that the
run's teardown, ``nox -s teardown``, the claim (a stale stack) and the reaper share."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from smoke import clock
from smoke.errors import TeardownIncomplete
from smoke.stack import marks
from smoke.stack.client import ENGINE_ERRORS, edge
from smoke.stack.compose import Stack
from smoke.stack.state import Resources

#: Removals tried before what is left is reported.
ATTEMPTS = 3


@dataclass(frozen=True)
class Removed:
    #: What existed before, by name (with ``describe``); empty: nothing to remove.
    resources: Resources
    #: The run marks removed, by name; empty when the mark was kept or none existed.
    marks: tuple[str, ...] = ()


def _nothing() -> None:
    pass


def _remove_stack(
    stack: Stack,
    *,
    mark: bool = True,
    describe: bool = False,
    known: Resources | None = None,
    attempts: int = ATTEMPTS,
    settle_seconds: float | None = None,
    before_each: Callable[[], None] = _nothing,
) -> Removed:
    """Remove every container, network and volume of the project, check that nothing
    is left, then (with ``mark``) remove the project's run mark, whoever wrote it.

    The project's resources are removed directly, by its compose label; if that fails
    (say, a container being created), compose's own `down` takes over. Retried, so a
    container that a killed `up` was still creating when the project was listed goes
    too. ``settle_seconds``: an empty listing counts only when a second one that long
    later is empty too (a dead run's compose may still be creating). ``known`` (ids)
    spares the first listing. Raises ``TeardownIncomplete`` naming what is left.
    """
    before = stack.resources() if describe else Resources()
    left = known or stack.resources(names=False)
    confirmed = settle_seconds is None  # without a settle time, one empty listing will do
    for _ in range(attempts):
        if not left:
            if confirmed:
                break
            assert settle_seconds is not None  # unconfirmed only with a settle time
            clock.sleep(settle_seconds)
            confirmed, left = True, stack.resources(names=False)
            continue
        before_each()
        try:
            stack.remove(left)
        except ENGINE_ERRORS:
            stack.down()
        left = stack.resources(names=False)
        confirmed = settle_seconds is None  # an empty listing now needs its second look
    if left:
        named = stack.resources()  # by name, for the person who removes them
        raise TeardownIncomplete(
            f"still present after {attempts} attempts: {(named or left).describe()}"
        )
    unmarked: tuple[str, ...] = ()
    if mark:
        with contextlib.suppress(*ENGINE_ERRORS):  # with the stack gone, only a mark
            unmarked = marks.unmark(stack)
    return Removed(before, unmarked)


remove_stack = edge(_remove_stack)  # not @: mutmut skips decorated code
