"""Cost budgets of a smoke run: its duration and the two image sizes.

Sizes are decimal, as the runbook writes them: 1 GB = 1,000,000,000 bytes.
Defaults come from ``[tool.smoke.budgets]`` in pyproject.toml; flags override them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smoke.errors import UsageError

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Budgets:
    max_duration_seconds: float = 420.0
    max_chat_image_bytes: int = 2_500_000_000
    max_web_image_bytes: int = 1_500_000_000


@dataclass(frozen=True)
class Verdict:
    name: str  # duration, chat_image, web_image
    measured: float
    limit: float
    unit: str  # "s" or "bytes"

    @property
    def ok(self) -> bool:
        return self.measured <= self.limit

    def describe(self) -> str:
        if self.unit == "s":
            return f"{self.name} budget: {self.measured:.1f}s > {self.limit:g}s"
        measured, limit = format_size(int(self.measured)), format_size(int(self.limit))
        return f"{self.name} budget: {measured} > {limit}"


def parse_size(text: str) -> int:
    """'2.5GB' -> 2_500_000_000; plain numbers are bytes."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size; e.g. 2.5GB, 800MB or 1500000000")
    number, unit = match.groups()
    unit = unit.upper()
    if unit and not unit.endswith("B"):
        unit += "B"
    return int(float(number) * _UNITS[unit])


def format_size(size: int) -> str:
    if size >= 10**9:
        return f"{size / 10**9:.2f} GB"
    return f"{size / 10**6:.1f} MB"


def from_pyproject(path: Path) -> Budgets:
    """Budgets from ``[tool.smoke.budgets]``; the defaults where the file or keys are absent."""
    if not path.is_file():
        return Budgets()
    try:
        table: dict[str, Any] = (
            tomllib.loads(path.read_text("utf-8"))
            .get("tool", {})
            .get("smoke", {})
            .get("budgets", {})
        )
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    known = {"max_duration_seconds", "max_chat_image", "max_web_image"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise UsageError(
            f"unknown key(s) in [tool.smoke.budgets] of {path}: {', '.join(unknown)}; "
            f"expected {', '.join(sorted(known))}"
        )
    defaults = Budgets()
    try:
        return Budgets(
            max_duration_seconds=float(
                table.get("max_duration_seconds", defaults.max_duration_seconds)
            ),
            max_chat_image_bytes=parse_size(
                str(table.get("max_chat_image", defaults.max_chat_image_bytes))
            ),
            max_web_image_bytes=parse_size(
                str(table.get("max_web_image", defaults.max_web_image_bytes))
            ),
        )
    except ValueError as exc:
        raise UsageError(f"[tool.smoke.budgets] in {path}: {exc}") from None


def evaluate(
    budgets: Budgets, *, duration: float, chat_image: int | None, web_image: int | None
) -> list[Verdict]:
    verdicts = [Verdict("duration", duration, budgets.max_duration_seconds, "s")]
    if chat_image is not None:
        verdicts.append(Verdict("chat_image", chat_image, budgets.max_chat_image_bytes, "bytes"))
    if web_image is not None:
        verdicts.append(Verdict("web_image", web_image, budgets.max_web_image_bytes, "bytes"))
    return verdicts
