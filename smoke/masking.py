"""Make text that comes from a service safe to show: secrets masked, and nothing in it
able to start a line, move the cursor, or speak to a CI system.

Masking: by value (the compose model's secret variables, passwords inside URLs) and
by shape (any URL's `scheme://user:password@`), whole values only, never the inside
of a word. Neutralising: control characters, ANSI escapes, Unicode line separators
and bidi overrides become visible escapes (`\\r`, `\\x1b`, `\\u2028`), so a string only
ever breaks at `\\n`; GitHub's legacy `##[command]`, read anywhere in a line, is
broken up. The log file keeps what the services wrote; consoles and reports show it
neutralised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "****"
_WORD = r"[0-9A-Za-z_]"
# scheme://user:password@host: the password goes, whoever wrote the URL.
_URL_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s/@]+@")


def _whole(secret: str) -> str:
    """The secret as a pattern that matches it only where it is not part of a longer
    word: a password `postgres` leaves `postgresql` readable."""
    before = f"(?<!{_WORD})" if re.match(_WORD, secret[0]) else ""
    after = f"(?!{_WORD})" if re.match(_WORD, secret[-1]) else ""
    return f"{before}{re.escape(secret)}{after}"


def url_password(value: str) -> str | None:
    """The password inside a URL such as `postgresql://user:pass@db/x`, if any."""
    found = _URL_CREDENTIALS.search(value)
    return found.group(0)[len(found["head"]) : -1] if found else None


# Everything that can end a line, move the cursor or reorder text, but \n and \t: C0 and
# C1 controls, DEL, U+2028/2029, and the bidi embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\r": "\\r", "\x0b": "\\v", "\x0c": "\\f", "\x1b": "\\x1b", "\x00": "\\0"}
# actions/runner reads `##[name]` anywhere in a line as a command (ActionCommand.TryParse).
_LEGACY_COMMAND = "##["


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named:
        return named
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def neutralise(text: str) -> str:
    """``text`` with every unsafe character made visible and `##[` broken up; its
    lines are still separated by `\\n` alone."""
    return _UNSAFE.sub(_visible, text).replace(_LEGACY_COMMAND, "##\\[")


def split_lines(text: str) -> list[str]:
    """Split service text at `\\n` only: `str.splitlines` also breaks at `\\r`, `\\v`,
    `\\f`, U+0085 and U+2028, where a service could start a line of its own."""
    return text.split("\n")


class Masker:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._values = re.compile("|".join(map(_whole, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        text = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}@", text)
        return self._values.sub(MASK, text) if self._values else text

    def safe(self, text: str) -> str:
        """Masked and neutralised: what a report file or annotation may hold."""
        return neutralise(self(text))


#: How much of a body or a message a console line shows.
EXCERPT_CHARS = 300


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, white space folded, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Env values under these names are secrets, masked wherever output is written:
# names holding the first, or ending in the second (DATABASE_URL's password too).
_SECRET_NAME_PARTS = ("PASSWORD", "SECRET", "TOKEN")
_SECRET_NAME_ENDS = ("KEY", "PASS", "PWD", "CREDENTIALS", "AUTH")


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in _SECRET_NAME_PARTS) or upper.endswith(_SECRET_NAME_ENDS)
