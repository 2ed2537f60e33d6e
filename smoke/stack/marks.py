"""The run mark: a volume per project, ``<project>_smoke-run``, whose labels say which
run owns the stack (see ``smoke.stack.claim``). Compose's own labels cannot carry
this: changing a container's labels would make compose recreate a kept stack."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from python_on_whales import Volume
from python_on_whales.exceptions import NoSuchVolume

from smoke.stack.client import edge
from smoke.stack.compose import Stack

#: The mark's label; its value is the project.
MARK_LABEL = "io.contoso-smoke.run"


def mark_name(project: str) -> str:
    return f"{project}_smoke-run"


def claim_mark(stack: Stack, labels: Mapping[str, str]) -> dict[str, str]:
    """Create the mark with ``labels`` unless it exists, and return the labels it
    carries: the engine keeps the first creator's, atomically."""
    name = mark_name(stack.project)
    # python-on-whales inspects the volume it returns: read at once, that is the answer.
    created = stack.docker.volume.create(name, labels={**labels, MARK_LABEL: stack.project})
    return dict(created.labels or {})


def _remove_mark(stack: Stack) -> None:
    with contextlib.suppress(NoSuchVolume):  # already gone: so much the better
        stack.docker.volume.remove([mark_name(stack.project)])


remove_mark = edge(_remove_mark)  # not @: mutmut skips decorated code


def unmark(stack: Stack) -> tuple[str, ...]:
    """Remove every mark of the project, whoever wrote it; returns their names."""
    volumes = stack.docker.volume.list(filters=[("label", f"{MARK_LABEL}={stack.project}")])
    if volumes:
        stack.docker.volume.remove(list[Volume | str](volumes))
    return tuple(sorted(volume.name for volume in volumes))
