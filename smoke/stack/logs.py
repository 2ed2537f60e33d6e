"""The stack's logs as one story: `compose logs --timestamps` of every service,
interleaved by timestamp, secrets masked, written to the log file before teardown;
and what a line says of itself (when, and which service wrote it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Protocol

from python_on_whales import DockerClient

from smoke.masking import Masker, split_lines
from smoke.stack.client import ENGINE_ERRORS, edge

# `compose logs --timestamps` lines: "chat-1  | 2026-11-25T12:58:36.7056578Z message"
_STAMPED = re.compile(r"^\S+\s+\|\s(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z\b")


def _sort_key(line: str) -> str | None:
    match = _STAMPED.match(line)
    if not match:
        return None
    whole, fraction = match.groups()
    return f"{whole}.{(fraction or '').ljust(9, '0')}"  # docker trims trailing zeros


def logged_at(line: str) -> float | None:
    """When a `compose logs --timestamps` line was written, in epoch seconds; None
    for a line without a timestamp."""
    match = _STAMPED.match(line)
    if not match:
        return None
    whole, fraction = match.groups()
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{fraction or 0}")


def logged_by(line: str) -> str:
    """The service a `compose logs` line is from (``chat-1  | ...`` -> chat)."""
    prefix = line.split("|", 1)[0].strip()
    return prefix.rsplit("-", 1)[0]  # compose names the container <service>-<index>


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


class LogSource(Protocol):
    """What the report layer asks of a stack: its services' logs."""

    def logs(self, services: tuple[str, ...] = (), *, tail: int | None = None) -> str: ...


def _write_logs(stack: LogSource, path: Path, masker: Masker) -> int:
    """Write the whole stack's logs, masked and in time order; return the line count."""
    text = chronological(masker(stack.logs()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text.count("\n")


write_logs = edge(_write_logs)  # not @: mutmut skips decorated code


class Containers(LogSource, Protocol):
    docker: DockerClient


def _save_logs(
    stack: Containers, path: Path, masker: Masker, orphans: Mapping[str, str] | None = None
) -> bool:
    """The stack's logs, and those of ``orphans`` (service -> container: containers of
    services the compose file no longer has, which `compose logs` cannot name), where
    they are a courtesy, not the run's own: False, and nothing raised, when they cannot
    be read or written."""
    try:
        text = stack.logs()
        for service, container in (orphans or {}).items():
            said = str(stack.docker.container.logs(container, timestamps=True))
            text += "".join(f"{service}-1  | {line}\n" for line in said.splitlines())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(chronological(masker(text)), encoding="utf-8")
    except (*ENGINE_ERRORS, OSError):
        return False
    return True


save_logs = edge(_save_logs)  # not @: mutmut skips decorated code
