"""A secret in the forms services print it in, and whether a text shows it in any of
them: for the masking tests, fast and real."""

from __future__ import annotations

import base64
import contextlib
import html
import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote, quote_plus


def _upper_hex(text: str) -> str:
    return re.sub(r"(%|\\u)([0-9a-f]{2,4})", lambda m: m[1] + m[2].upper(), text)


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), text)


def carried(secret: str) -> list[str]:
    """How services print a secret: as it is, and encoded the ways libraries encode."""
    ascii_json = json.dumps(secret)[1:-1]
    forms = [
        secret,
        ascii_json,
        _upper_hex(ascii_json),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        ascii_json.replace("/", "\\/"),  # PHP's json_encode
        quote(secret, safe=""),
        _lower_hex(quote(secret, safe="")),
        quote(secret),  # Python's default keeps `/`
        quote(secret, safe="!'()*"),  # JavaScript's encodeURIComponent
        quote_plus(secret, safe=""),
        html.escape(secret),
        html.escape(secret, quote=False),
        html.escape(secret).replace("&#x27;", "&#39;"),  # MarkupSafe, Jinja
        html.escape(secret).replace("&#x27;", "&apos;"),  # XML's own entity
    ]
    element = ET.Element("x", v=secret)
    element.text = secret
    written = ET.tostring(element, encoding="unicode")  # <x v="attribute">text</x>
    attribute, text = re.fullmatch(r'<x v="(.*)">(.*)</x>', written, re.S).groups()  # type: ignore[union-attr]
    return [*forms, attribute, text]


def base64_runs(secret: str) -> list[str]:
    """The secret inside `Basic` headers, after user names of each length mod 3."""
    return [
        base64.b64encode(f"{user}:{secret}".encode()).decode() for user in ("ab", "abc", "abcd")
    ] + [base64.urlsafe_b64encode(f"u{secret}!".encode()).decode()]


def readable(secret: str, text: str) -> bool:
    """Whether ``text`` shows the secret in any form a reader could decode."""
    decoded = [text, html.unescape(text)]
    for piece in re.findall(r"[A-Za-z0-9+/=_-]{4,}", text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            with contextlib.suppress(ValueError):
                decoded.append(decode(piece + "=" * (-len(piece) % 4)).decode("utf-8", "replace"))
    return any(form in shown for shown in decoded for form in carried(secret))
