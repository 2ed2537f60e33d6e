"""docs/specs.md's examples, read from the page: each fails on spans that have its
fault and holds on spans that do not."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from smoke.trace.spans import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, Span
from smoke.trace.specs import Spec, judge, parse

PAGE = Path(__file__).resolve().parents[2] / "docs" / "specs.md"
T = "f" * 32
STEP = "web -> chat proxy call"


def examples() -> dict[str, Spec]:
    blocks = re.findall(r"```toml\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    found = {}
    for block in blocks:
        for table in tomllib.loads(block)["spec"]:
            spec = parse(table, source="docs/specs.md")
            found[spec.name] = spec
    return found


def span(span_id: str, parent: str | None, service: str, name: str, **kw: object) -> Span:
    start, end = float(kw.pop("start", 10.0)), float(kw.pop("end", 10.01))
    kind = int(kw.pop("kind", KIND_SERVER))  # type: ignore[call-overload]
    return Span(T, span_id, parent, service, name, kind, start, end, attributes=kw)  # type: ignore[arg-type]


def question(*inside: Span, web_calls: int = 1) -> list[Span]:
    """The proxy call's trace: the smoke's step and request, web, web's calls, and
    ``inside`` under chat's span."""
    spans = [
        span("s", None, "smoke", STEP, kind=KIND_INTERNAL, end=11.0),
        span("r", "s", "smoke", "POST /api/chat/service", kind=KIND_CLIENT),
        span("w", "r", "web", "POST /api/chat/service", **{"http.response.status_code": 200}),
    ]
    for number in range(web_calls):
        spans += [
            span(f"wc{number}", "w", "web", "POST", kind=KIND_CLIENT),
            span(f"c{number}", f"wc{number}", "chat", "POST /api/chat"),
        ]
    return spans + list(inside)


def verdicts(spec: Spec, spans: list[Span]) -> list[bool]:
    return [v.passed for v in judge([spec], spans, {STEP: T}, [STEP])]


CASES = {
    "no N+1 query in chat": (
        question(
            *(
                span(
                    f"q{i}",
                    "c0",
                    "chat",
                    "SELECT",
                    **{"db.statement": f"SELECT * FROM products WHERE sku = '{i}'"},
                )
                for i in range(5)
            )
        ),
        question(span("q", "c0", "chat", "SELECT", **{"db.statement": "SELECT sku FROM products"})),
    ),
    "web asks chat at most once a question": (question(web_calls=3), question()),
    "web calls chat once per question": (question(web_calls=3), question()),
    "no 5xx inside a passing step": (
        question(span("e", "c0", "chat", "inner", **{"http.response.status_code": 503})),
        question(),
    ),
    "chat answers within 300 ms": (
        [*question()[:-1], span("c0", "wc0", "chat", "POST /api/chat", end=10.5)],
        question(),
    ),
    "the answer comes from the cache": (
        question(span("k", "c0", "chat", "cache lookup", **{"cache.hit": False})),
        question(span("k", "c0", "chat", "cache lookup", **{"cache.hit": True})),
    ),
}


def test_every_example_on_the_page_is_tested_here() -> None:
    assert set(examples()) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_example_fails_on_its_fault_and_holds_without_it(name: str) -> None:
    spec = examples()[name]
    faulty, fine = CASES[name]
    assert False in verdicts(spec, faulty)
    held = verdicts(spec, fine)
    assert held  # it applied
    assert all(held)
