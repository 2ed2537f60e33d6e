"""What a build is doing, in a few words for the progress line: read from compose's
plain build output (BuildKit's `#N [service stage n/m] INSTRUCTION` lines)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# "#9 [chat stage-2 2/7] RUN --mount=type=secret,id=build_ca ..."; "#5 [web uv 1/3] FROM …"
_STEP = re.compile(
    r"^#\d+ \[(?P<service>[^\s\]]+) (?:(?P<stage>[^\s\]]+) )?(?P<at>\d+/\d+)\] (?P<what>.+)$"
)
#: How much of an instruction is said: its start names it.
WHAT_CHARS = 60


def build_step(line: str) -> str | None:
    """``building chat: step 2/7 of stage-2, RUN --mount=…`` for a line that starts a
    build step; None for any other line."""
    found = _STEP.match(line.strip())
    if found is None:
        return None
    what = " ".join(found["what"].split())
    if len(what) > WHAT_CHARS:
        what = what[: WHAT_CHARS - 1] + "…"
    stage = f" of {found['stage']}" if found["stage"] else ""
    return f"building {found['service']}: step {found['at']}{stage}, {what}"


def follow_build(output: Iterable[tuple[str, bytes]], say: Callable[[str], None]) -> None:
    """Read a streamed build to its end, saying each step it starts."""
    for _, raw in output:
        said = build_step(raw.decode("utf-8", errors="replace"))
        if said is not None:
            say(said)
