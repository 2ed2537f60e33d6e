"""The local stack's promise, checked from outside: a question in other words than
its product's (no word in common) finds that product first, through web's proxy."""

from __future__ import annotations

from typing import Any

from .errors import SemanticMismatch
from .probes import Probe, excerpt

#: Shares no word with BAG-001's name, category or description (a test holds this).
SEMANTIC_QUESTION = "cozy bedding for chilly nights outdoors"
EXPECTED_SKU = "BAG-001"


def check_semantic_retrieval(probe: Probe) -> str:
    response = probe.proxy_call(SEMANTIC_QUESTION)
    try:
        payload: Any = response.json()
        ranking = payload.get("sources") if isinstance(payload, dict) else None
    except ValueError:
        ranking = None
    if not isinstance(ranking, list) or ranking[:1] != [EXPECTED_SKU]:
        raise SemanticMismatch(
            f'asked "{SEMANTIC_QUESTION}" (no word in common with {EXPECTED_SKU}): expected '
            f"{EXPECTED_SKU} first in sources, got {ranking!r}",
            status=response.status_code,
            body=excerpt(response.text),
        )
    return f"{EXPECTED_SKU} first"
