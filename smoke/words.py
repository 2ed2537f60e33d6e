"""How the smoke says a count to a person: `1 step`, `2 steps`."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str = "") -> str:
    """``number`` and ``noun``, the noun in its plural (``plural``, else noun + s)
    unless the number is one."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def listed(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)
