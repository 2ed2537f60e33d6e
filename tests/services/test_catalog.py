"""Keyword retrieval over the catalog (the minimal stack), without a db."""

from __future__ import annotations

import pytest

from contoso_chat.catalog import CATALOG, compose_answer
from contoso_chat.retrieval import IdfRanker, tokenize


def test_tokenize_drops_stopwords_and_folds_plurals() -> None:
    assert tokenize("Which tents are best for the trails?") == ["tent", "trail"]


@pytest.mark.parametrize(
    ("question", "sku"),
    [
        ("a tent with a mesh roof for stargazing", "TENT-002"),
        ("rechargeable headlamp", "LIGHT-001"),
        ("kayak for calm rivers", "KAYAK-001"),
        ("filter for drinking water from streams", "FILTER-001"),
    ],
)
def test_best_match(question: str, sku: str) -> None:
    ranked = IdfRanker(CATALOG).rank(question)
    assert ranked[0][0].sku == sku


def test_no_match_says_so_and_lists_categories() -> None:
    answer = compose_answer(
        "quantum chromodynamics", IdfRanker(CATALOG).rank("quantum chromodynamics")
    )
    assert "could not find" in answer
    assert "tents" in answer
