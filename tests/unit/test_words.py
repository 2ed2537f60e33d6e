"""Counts and lists as a person reads them."""

from __future__ import annotations

from smoke.words import counted, listed


def test_a_count_of_one_is_singular_and_any_other_plural() -> None:
    assert counted(1, "step") == "1 step"
    assert counted(0, "step") == "0 steps"
    assert counted(2, "span") == "2 spans"
    assert counted(3, "try", "tries") == "3 tries"
    assert counted(1, "try", "tries") == "1 try"


def test_a_list_reads_with_commas_and_a_last_and() -> None:
    assert listed([]) == ""
    assert listed(["a"]) == "a"
    assert listed(["a", "b"]) == "a and b"
    assert listed(["a", "b", "c"]) == "a, b and c"
