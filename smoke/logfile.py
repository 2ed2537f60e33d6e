"""The stack's logs as one file: every service, in time order, secrets masked."""

from __future__ import annotations

import re
from pathlib import Path

from .masking import Masker, split_lines
from .stack import Stack

# `compose logs --timestamps` lines: "chat-1  | 2026-11-25T12:58:36.7056578Z message"
_STAMPED = re.compile(r"^\S+\s+\|\s(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z\b")


def _sort_key(line: str) -> str | None:
    match = _STAMPED.match(line)
    if not match:
        return None
    whole, fraction = match.groups()
    return f"{whole}.{(fraction or '').ljust(9, '0')}"  # docker trims trailing zeros


def chronological(text: str) -> str:
    """Interleave the services' lines by timestamp, so one file reads as one story.

    compose prints each service's lines as a block; a line without a timestamp
    stays with the line before it.
    """
    entries: list[tuple[str, int, list[str]]] = []
    # At \n only, as compose itself splits: a \r or U+2028 inside a line stays there.
    for index, line in enumerate(split_lines(text.removesuffix("\n")) if text else []):
        key = _sort_key(line)
        if key is None and entries:
            entries[-1][2].append(line)
        else:
            entries.append((key or "", index, [line]))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    lines = [line for _, _, group in entries for line in group]
    return "\n".join(lines) + ("\n" if lines else "")


def write_logs(stack: Stack, path: Path, masker: Masker) -> int:
    """Write the whole stack's logs, masked and in time order; return the line count."""
    text = chronological(masker(stack.logs()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text.count("\n")
