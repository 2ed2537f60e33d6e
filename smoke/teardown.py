"""Remove a stack and prove it is gone."""

from __future__ import annotations

from .errors import CheckFailed
from .stack import Resources, Stack

_ATTEMPTS = 3


class TeardownIncomplete(CheckFailed):
    failure_class = "teardown incomplete"
    hint = "remove what is left with `nox -s teardown`, or `docker compose down -v`"


def remove_stack(stack: Stack, *, describe: bool = False) -> Resources:
    """`down` with volumes and orphans until nothing of the project is left.

    With ``describe``, returns what existed before, by name; an empty ``Resources``
    then means there was nothing to remove. A second pass catches a container that a
    killed `up` was still creating when the first `down` listed the project.
    """
    before = stack.resources() if describe else Resources()
    left = before if describe else Resources(containers=("?",))  # not listed: assume some
    for _ in range(_ATTEMPTS):
        if not left:
            break
        stack.down()
        left = stack.resources(names=False)
    if left:
        raise TeardownIncomplete(f"still present after {_ATTEMPTS} attempts: {left.describe()}")
    return before
