"""The response contract: a non-empty string 'answer' or 'response'."""

from __future__ import annotations

import pytest

from smoke.checks.contract import ContractViolation, extract_answer


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ('{"answer": "Try the tent."}', "Try the tent."),
        ('{"response": "Try the tent."}', "Try the tent."),
        ('{"answer": "", "response": "fallback"}', "fallback"),
    ],
)
def test_valid(body: str, answer: str) -> None:
    assert extract_answer(body)[0] == answer


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"reply": "x", "id": 1}', "no 'answer' or 'response' field (fields: id, reply)"),
        ("{}", "no 'answer' or 'response' field (fields: none)"),
        ('{"answer": 42}', "'answer' is a int, not a string"),
        ('{"answer": null}', "'answer' is a NoneType, not a string"),
        ('{"answer": "  "}', "'answer' is an empty string"),
        ("<html>oops</html>", "the body is not JSON"),
        ('["answer"]', "the body is a JSON list, not an object"),
    ],
)
def test_drift(body: str, reason: str) -> None:
    with pytest.raises(ContractViolation) as caught:
        extract_answer(body)
    assert str(caught.value) == reason
