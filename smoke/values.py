"""What an option's value may be: each type takes the text given and returns the
value, or raises ``argparse.ArgumentTypeError`` saying what is wrong and what to give.
"""

from __future__ import annotations

import argparse
import re

import httpx

MAX_TIMEOUT = 3600.0
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # compose's own rule
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 < value <= 10_000:
        raise argparse.ArgumentTypeError(f"{text} is out of range; give 1 to 10000")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range; give seconds in (0, {MAX_TIMEOUT:g}]"
        )
    return value


def http_url(text: str) -> str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http(s) URL; e.g. http://127.0.0.1:3000"
        )
    return str(url).rstrip("/")


def size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def project_name(text: str) -> str:
    if not _PROJECT_NAME.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a compose project name "
            "(lower-case letters, digits, '-' and '_', starting with a letter or digit)"
        )
    return text


def env_name(text: str) -> str:
    if not _ENV_NAME.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an env variable name")
    return text


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?)\s*$", re.IGNORECASE)


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
