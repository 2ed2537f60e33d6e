"""Remove a stack and prove it is gone."""

from __future__ import annotations

from python_on_whales.exceptions import DockerException

from smoke.report.errors import CheckFailed
from smoke.stack.compose import Resources, Stack

_ATTEMPTS = 3


class TeardownIncomplete(CheckFailed):
    failure_class = "teardown incomplete"
    hint = "remove what is left with `nox -s teardown`, or `docker compose down -v`"


def remove_stack(
    stack: Stack, *, describe: bool = False, known: Resources | None = None
) -> Resources:
    """Remove every container, network and volume of the project, and check that
    nothing is left; retried, so a container that a killed `up` was still creating
    when the project was listed goes too.

    The project's resources are removed directly, by its compose label; if that
    fails (say, a container being created), compose's own `down` takes over.
    With ``describe``, returns what existed before, by name; an empty ``Resources``
    then means there was nothing to remove. ``known`` (ids) spares the first listing.
    """
    before = stack.resources() if describe else Resources()
    left = known or stack.resources(names=False)
    for _ in range(_ATTEMPTS):
        if not left:
            break
        try:
            stack.remove(left)
        except DockerException:
            stack.down()
        left = stack.resources(names=False)
    if left:
        named = stack.resources()  # by name, for the person who removes them
        raise TeardownIncomplete(
            f"still present after {_ATTEMPTS} attempts: {(named or left).describe()}"
        )
    return before
