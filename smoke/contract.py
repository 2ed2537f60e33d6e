"""The response contract between web's consumer and chat's provider.

A chat answer is a JSON object carrying a non-empty string under ``answer`` or,
for older providers, ``response``.
"""

from __future__ import annotations

import json
from typing import Any

ANSWER_FIELDS = ("answer", "response")


class ContractViolation(ValueError):
    """The body breaks the contract; the message says how."""


def extract_answer(body: str) -> tuple[str, dict[str, Any]]:
    """Return the answer text and the parsed object, or raise ``ContractViolation``."""
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        raise ContractViolation("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise ContractViolation(f"the body is a JSON {type(payload).__name__}, not an object")
    present = [name for name in ANSWER_FIELDS if name in payload]
    if not present:
        keys = ", ".join(sorted(payload)) or "none"
        raise ContractViolation(f"no 'answer' or 'response' field (fields: {keys})")
    for name in present:
        value = payload[name]
        if isinstance(value, str) and value.strip():
            return value, payload
    name = present[0]
    value = payload[name]
    if not isinstance(value, str):
        raise ContractViolation(f"'{name}' is a {type(value).__name__}, not a string")
    raise ContractViolation(f"'{name}' is an empty string")
