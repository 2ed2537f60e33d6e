"""Keep secrets out of everything the smoke prints or writes: by value (the compose
model's secret variables, passwords inside URLs) and by shape (any URL's
`scheme://user:password@`), whole values only, never the inside of a word."""

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


class Masker:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._values = re.compile("|".join(map(_whole, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        text = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}@", text)
        return self._values.sub(MASK, text) if self._values else text
