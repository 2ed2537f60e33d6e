"""Make text that comes from a service safe to show: secrets masked in every form they
travel in, and nothing in the text able to start a line, move the cursor, reorder
what a reader sees, or speak to a CI system.

Masking (``Masker``), by value and by shape, whole values only (a password `postgres`
leaves `postgresql` readable). For each secret value:

* the value itself, at any length;
* from 4 characters on, also its JSON-escaped forms (ASCII-escaped and UTF-8, `\\/`
  for `/`), URL-encoded forms (`quote`, `quote_plus`, `encodeURIComponent`), its
  HTML/XML-escaped forms, each line of a multi-line value and the value with
  surrounding quotes trimmed; hex digits of `%xx` and `\\uXXXX` match in either case;
* from 8 bytes on, its base64 and base64url at the three byte alignments, as whole
  3-byte groups inside a longer base64 run (``Basic dXNlcjp0b2tlbg==``).

That is the GitHub Actions runner's secret masker (its ``ValueEncoders``) and more.
Known values go first; then any URL's `scheme://user:password@`, where the password
runs to the last `@` before white space, so one holding `@ : / # ?` goes whole.
Mask data before it is encoded: a writer masks each value, then serialises.

Neutralising (``neutralise``): C0 and C1 controls, DEL, U+2028/2029, lone
surrogates and every format character (Unicode category Cf: bidi embeddings,
overrides and isolates, zero-width characters, U+FEFF, U+061C, U+200E/F, tag
characters) become visible escapes (`\\r`, `\\x1b`, `\\u202e`, `\\U000e0041`), so a
string only ever breaks at `\\n`; ZWNJ and ZWJ stay (Persian, Indic scripts and emoji
need them). GitHub's legacy `##[command]`, read anywhere in a line, is broken up.
``quoted`` marks every further line of a service's text, so none of it reads as one
of the smoke's own lines. The log file keeps what the services wrote, masked.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote, quote_plus, unquote

MASK = "****"
#: Shorter values are masked as they are, never in an encoded form: too many
#: ordinary strings would match.
MIN_ENCODED_CHARS = 4
MIN_BASE64_BYTES = 8
_WORD = r"[0-9A-Za-z_]"
# scheme://user:password@: the password goes, whoever wrote the URL, up to the last
# `@` before white space (or a quote or angle bracket that ends the URL in markup).
_URL_CREDENTIALS = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:\"'<>]*:)(?P<password>[^\s\"'<>]+)@"
)
# The escape sequences whose hex digits an encoder may write in either case.
_HEX_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}")


def _json_forms(value: str) -> set[str]:
    forms = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    return forms | {form.replace("/", "\\/") for form in forms}


def _url_forms(value: str) -> set[str]:
    # encodeURIComponent leaves !'()* as they are; Python's quote escapes them.
    return {
        encode(value, safe=safe, errors="surrogatepass")
        for encode in (quote, quote_plus)
        for safe in ("", "/", "!'()*")
    }


def _markup_forms(value: str) -> set[str]:
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    attribute = text.replace('"', "&quot;")
    forms = {text, attribute}
    forms |= {attribute.replace("'", apostrophe) for apostrophe in ("&#x27;", "&#39;", "&apos;")}
    # ElementTree's attribute values: white space as character references.
    forms.add(attribute.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#09;"))
    return forms


def _base64_forms(value: str) -> set[str]:
    """Whole 3-byte groups of ``value`` at each alignment, as base64 and base64url:
    what any base64 run holding ``value`` contains, whatever comes before it."""
    data = value.encode("utf-8", "surrogatepass")
    forms = set()
    for skip in range(3):
        chunk = data[skip:]
        whole = chunk[: len(chunk) // 3 * 3]
        encoded = base64.b64encode(whole).decode()
        forms |= {encoded, encoded.replace("+", "-").replace("/", "_")}
    return forms


def _pieces(value: str) -> Iterator[str]:
    """``value``, each line of it, and it without the quotes around it."""
    yield value
    if "\n" in value or "\r" in value:
        yield from (line.strip() for line in value.splitlines())
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        yield value[1:-1]


def _whole(form: str, *, escaped: bool) -> str:
    """``form`` as a pattern matching it only where it is not part of a longer word;
    an encoder's hex digits match in either case."""
    if escaped:
        parts, at = [], 0
        for found in _HEX_ESCAPE.finditer(form):
            parts.append(re.escape(form[at : found.start()]))
            parts.append(
                "".join(
                    f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c)
                    for c in found.group()
                )
            )
            at = found.end()
        body = "".join(parts) + re.escape(form[at:])
    else:
        body = re.escape(form)
    before = f"(?<!{_WORD})" if re.match(_WORD, form[0]) else ""
    after = f"(?!{_WORD})" if re.match(_WORD, form[-1]) else ""
    return f"{before}{body}{after}"


def secret_patterns(secret: str) -> list[tuple[int, str]]:
    """(length, pattern) for every form of ``secret`` that is masked."""
    patterns = {(len(secret), _whole(secret, escaped=False))} if secret else set()
    for piece in _pieces(secret):
        if len(piece) < MIN_ENCODED_CHARS:
            continue
        forms = {piece} | _json_forms(piece) | _url_forms(piece) | _markup_forms(piece)
        patterns |= {(len(form), _whole(form, escaped=True)) for form in forms}
        if len(piece.encode("utf-8", "surrogatepass")) >= MIN_BASE64_BYTES:
            # Inside a longer run: no word boundary binds a base64 group.
            patterns |= {(len(form), re.escape(form)) for form in _base64_forms(piece)}
    return sorted(patterns, reverse=True)


def url_password(value: str) -> str | None:
    """The password inside a URL such as `postgresql://user:pass@db/x`, if any."""
    found = _URL_CREDENTIALS.search(value)
    return found["password"] if found else None


def url_passwords(value: str) -> set[str]:
    """The password inside a URL, as written and percent-decoded: both are secrets."""
    password = url_password(value)
    return {password, unquote(password)} if password else set()


# The Cf ranges of Unicode 16 (a test holds them against the running Python's), with
# the whole tag block; ZWNJ and ZWJ (U+200C/D) left out.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f"
)
# Everything that can end a line, move the cursor, hide or reorder text, but \n and
# \t: C0 and C1 controls, DEL, U+2028/2029, lone surrogates, format characters.
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_FORMAT}]")
_NAMED = {"\r": "\\r", "\x0b": "\\v", "\x0c": "\\f", "\x1b": "\\x1b", "\x00": "\\0"}
# actions/runner reads `##[name]` anywhere in a line as a command (ActionCommand.TryParse).
_LEGACY_COMMAND = "##["
#: What marks each further line of a service's text (after the first line's indent).
CONTINUED = "│ "


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named:
        return named
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def neutralise(text: str) -> str:
    """``text`` with every unsafe character made visible and `##[` broken up; its
    lines are still separated by `\\n` alone."""
    return _UNSAFE.sub(_visible, text).replace(_LEGACY_COMMAND, "##\\[")


def split_lines(text: str) -> list[str]:
    """Split service text at `\\n` only: `str.splitlines` also breaks at `\\r`, `\\v`,
    `\\f`, U+0085 and U+2028, where a service could start a line of its own."""
    return text.split("\n")


def quoted(text: str) -> str:
    """``text`` with each line after the first marked, at the first line's indent:
    a service's text on several lines never reads as the smoke's own lines."""
    first, *rest = split_lines(text)
    indent = first[: len(first) - len(first.lstrip(" "))]
    return "\n".join([first, *(f"{indent}{CONTINUED}{line}" for line in rest)])


class Masker:
    """Masks each secret in every form it travels in, then URL passwords by shape."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        patterns = sorted({p for s in secrets for p in secret_patterns(s)}, reverse=True)
        # Longest first, so a secret that contains another is masked whole.
        self._values = re.compile("|".join(p for _, p in patterns)) if patterns else None

    def __call__(self, text: str) -> str:
        if self._values:
            text = self._values.sub(MASK, text)
        return _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}@", text)

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
