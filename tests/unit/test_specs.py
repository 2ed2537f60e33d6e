"""The trace spec grammar and its judgement: every operator, the units, globs,
attribute types, empty selections, retried tries left out, and bad input refused
with what is wrong."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smoke.trace.context import RETRIED
from smoke.trace.spans import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, STATUS_ERROR, Span
from smoke.trace.specs import (
    BUILT_IN,
    EVERY_STEP,
    Assertion,
    SpecError,
    judge,
    parse,
    parse_assertion,
)

T = "a" * 32


def span(span_id: str, parent: str | None, service: str, name: str, **attributes: object) -> Span:
    took = float(attributes.pop("took", 0.002))  # type: ignore[arg-type]
    status = int(attributes.pop("status", 0))  # type: ignore[call-overload]
    kind = int(attributes.pop("kind", KIND_SERVER))  # type: ignore[call-overload]
    return Span(
        T, span_id, parent, service, name, kind, 10.0, 10.0 + took, status, attributes=attributes
    )


def trace(*inside: Span) -> list[Span]:
    return [
        span("s", None, "smoke", "step", kind=KIND_INTERNAL),
        span("r", "s", "smoke", "POST /api/chat/service", kind=KIND_CLIENT),
        *inside,
    ]


def spec(*asserts: str, **table: object) -> object:
    return parse({"name": "n", "assert": list(asserts), **table}, source="t.toml")


def holds(one: object, spans: list[Span], step: str = "step") -> list[bool]:
    return [v.passed for v in judge([one], spans, {step: T}, [step])]  # type: ignore[list-item]


CHAT = span("c", "r", "chat", "POST /api/chat", **{"http.response.status_code": 200, "ok": True})


@pytest.mark.parametrize(
    ("assertion", "expected"),
    [
        ("count == 1", True),
        ("count != 1", False),
        ("count < 1", False),
        ("count <= 1", True),
        ("count > 0", True),
        ("count >= 2", False),
    ],
)
def test_every_count_operator(assertion: str, expected: bool) -> None:
    assert holds(spec(assertion, select={"service": "chat"}), trace(CHAT)) == [expected]


@pytest.mark.parametrize(
    ("assertion", "expected"),
    [
        ("duration < 3ms", True),
        ("duration < 1ms", False),
        ("duration <= 2100us", True),
        ("duration > 1000000ns", True),
        ("duration < 0.001s", False),
        ("duration >= 1s", False),
    ],
)
def test_durations_in_every_unit(assertion: str, expected: bool) -> None:
    assert holds(spec(assertion, select={"service": "chat"}), trace(CHAT)) == [expected]


@pytest.mark.parametrize(
    ("assertion", "expected"),
    [
        ("attr http.response.status_code == 200", True),
        ("attr http.response.status_code != 200", False),
        ("attr http.response.status_code < 300", True),
        ("attr http.response.status_code >= 500", False),
        ("attr ok == true", True),
        ("attr ok == false", False),
        ("attr http.response.status_code =~ '^2'", True),
        ("attr http.response.status_code !~ '^2'", False),
        ("attr http.response.status_code contains '0'", True),
        ("attr missing == 1", False),
        ("attr missing != 1", True),
        ("attr missing !~ 'x'", True),
        ("status == ok", True),
        ("status != error", True),
        ("status == error", False),
    ],
)
def test_attribute_and_status_assertions(assertion: str, expected: bool) -> None:
    assert holds(spec(assertion, select={"service": "chat"}), trace(CHAT)) == [expected]


def test_a_string_attribute_compared_with_a_quoted_value_and_a_regex_keeps_its_backslash() -> None:
    statement = span("q", "r", "chat", "SELECT", **{"db.statement": "SELECT * FROM products"})
    chat = {"service": "chat"}
    assert holds(spec("attr db.statement !~ 'SELECT \\*'", select=chat), trace(statement)) == [
        False
    ]
    assert holds(
        spec('attr db.statement == "SELECT * FROM products"', select=chat), trace(statement)
    ) == [True]


def test_select_by_service_negation_name_glob_and_attribute_matches() -> None:
    db = span("q", "c", "chat", "SELECT", **{"db.system": "postgresql", "db.statement": "SELECT 1"})
    spans = trace(CHAT, db)
    assert holds(spec("count == 2", select={"service": "chat"}), spans) == [True]
    assert holds(
        spec("count == 1", select={"service": "!smoke", "name": "POST /api/*"}), spans
    ) == [True]
    assert holds(spec("count == 0", select={"name": "post*"}), spans) == [True]  # globs match case
    equal = {"attributes": {"db.system": "postgresql"}}
    assert holds(spec("count == 1", select=equal), spans) == [True]
    contains = {"attributes": {"db.statement": {"contains": "SELECT"}}}
    assert holds(spec("count == 1", select=contains), spans) == [True]
    regex = {"attributes": {"db.statement": {"regex": "^SELECT \\d$"}}}
    assert holds(spec("count == 1", select=regex), spans) == [True]
    boolean = {"attributes": {"ok": True}}
    assert holds(spec("count == 1", select=boolean), spans) == [True]


def test_per_request_counts_each_request_and_per_trace_the_whole_step() -> None:
    second = span("r2", "s", "smoke", "POST /api/chat/service", kind=KIND_CLIENT)
    chats = [span("c1", "r", "chat", "POST /api/chat"), span("c2", "r2", "chat", "POST /api/chat")]
    spans = [*trace(), second, *chats]
    selected = {"service": "chat"}
    assert holds(spec("count == 1", select=selected, per="request"), spans) == [True, True]
    assert holds(spec("count == 1", select=selected), spans) == [False]


def test_an_empty_selection_holds_for_count_and_is_said_for_the_rest() -> None:
    named = spec("duration < 1s", select={"service": "chat", "name": "cache*"}, step="step")
    (verdict,) = judge([named], trace(CHAT), {"step": T}, ["step"])  # type: ignore[list-item]
    assert (verdict.passed, verdict.measured) == (False, "selected no span")
    assert holds(spec("count == 0", select={"service": "chat", "name": "cache*"}), trace(CHAT)) == [
        True
    ]


def test_a_spec_without_a_step_applies_where_it_selects_and_fails_where_it_never_does() -> None:
    other = "b" * 32
    spans = [*trace(CHAT), Span(other, "h", None, "smoke", "health", KIND_INTERNAL, 1.0, 2.0)]
    anywhere = spec("duration < 1s", select={"service": "chat"})
    traces, passed = {"step": T, "health": other}, ["step", "health"]
    assert [v.passed for v in judge([anywhere], spans, traces, passed)] == [True]  # type: ignore[list-item]
    nowhere = spec("duration < 1s", select={"service": "chat", "name": "cache*"})
    (verdict,) = judge([nowhere], spans, traces, passed)  # type: ignore[list-item]
    assert (verdict.passed, verdict.step, verdict.measured) == (
        False,
        EVERY_STEP,
        "selected no span",
    )


def test_a_step_that_failed_or_never_ran_is_not_judged() -> None:
    assert judge([BUILT_IN], trace(CHAT), {"step": T}, []) == []
    assert judge([spec("count == 1", step="absent")], trace(CHAT), {"step": T}, ["step"]) == []  # type: ignore[list-item]


def test_the_built_in_spec_finds_an_error_under_a_passing_answer_but_not_a_retried_try() -> None:
    swallowed = span("c", "r", "chat", "POST /api/chat", **{"http.response.status_code": 500})
    (verdict,) = judge([BUILT_IN], trace(swallowed), {"step": T}, ["step"])
    assert (verdict.passed, verdict.measured) == (False, "count was 1")
    assert [s.span_id for s in verdict.selected] == ["c"]
    retried = span(
        "r", "s", "smoke", "GET /health", kind=KIND_CLIENT, status=STATUS_ERROR, **{RETRIED: True}
    )
    under = span("c", "r", "chat", "GET /health", **{"http.response.status_code": 503})
    answered = span("r2", "s", "smoke", "GET /health", kind=KIND_CLIENT)
    spans = [span("s", None, "smoke", "step", kind=KIND_INTERNAL), retried, under, answered]
    assert [v.passed for v in judge([BUILT_IN], spans, {"step": T}, ["step"])] == [True]


EXPECTED = (
    "expected `count OP N`, `duration OP N<unit>` (ns us ms s), `status == ok|error` "
    "or `attr KEY OP VALUE`"
)
BAD_PATTERN = "the pattern '(' is not a regular expression: missing ), unterminated subpattern"


@pytest.mark.parametrize(
    ("table", "said"),
    [
        (["x"], "t.toml: a spec must be a table, not ['x']"),
        ({"assert": ["count == 1"]}, "t.toml: a spec without a name: `name` must be a string"),
        ({"name": 1, "assert": ["count == 1"]}, "t.toml: spec 1: `name` must be a string"),
        (
            {"name": "n", "assert": ["count == 1"], "bogus": 1, "extra": 2},
            "t.toml: spec 'n': unknown field bogus, extra; known: assert, name, per, select, step",
        ),
        (
            {"name": "n", "assert": []},
            "t.toml: spec 'n': `assert` must be a list of one-line assertions",
        ),
        (
            {"name": "n", "assert": "count == 1"},
            "t.toml: spec 'n': `assert` must be a list of one-line assertions",
        ),
        (
            {"name": "n", "assert": ["count ~ 1"]},
            f"t.toml: spec 'n': cannot read the assertion 'count ~ 1': {EXPECTED}",
        ),
        (
            {"name": "n", "assert": ["duration < 5 minutes"]},
            f"t.toml: spec 'n': cannot read the assertion 'duration < 5 minutes': {EXPECTED}",
        ),
        (
            {"name": "n", "assert": ["count == 1"], "per": "span"},
            "t.toml: spec 'n': `per` must be \"trace\" or \"request\", not 'span'",
        ),
        (
            {"name": "n", "assert": ["count == 1"], "select": {"kind": "x", "zone": 1}},
            "t.toml: spec 'n': unknown field select.kind, select.zone; "
            "known: attributes, name, service",
        ),
        (
            {"name": "n", "assert": ["count == 1"], "select": "chat"},
            "t.toml: spec 'n': `select` must be a table",
        ),
        (
            {"name": "n", "assert": ["count == 1"], "select": {"attributes": ["a"]}},
            "t.toml: spec 'n': `select.attributes` must be a table",
        ),
        (
            {"name": "n", "assert": ["count == 1"], "select": {"attributes": {"a": {"like": "x"}}}},
            "t.toml: spec 'n': select.attributes.a takes one of contains, equals, regex",
        ),
        (
            {
                "name": "n",
                "assert": ["count == 1"],
                "select": {"attributes": {"a": {"regex": "("}}},
            },
            f"t.toml: spec 'n': select.attributes.a: {BAD_PATTERN} at position 0",
        ),
        (
            {"name": "n", "assert": ["attr a =~ '('"]},
            f"t.toml: spec 'n': {BAD_PATTERN} at position 0",
        ),
        (
            {"name": "n", "assert": ["attr a !~ '('"]},
            f"t.toml: spec 'n': {BAD_PATTERN} at position 0",
        ),
        (
            {"name": "n", "assert": ["count == 1"], "step": 3},
            "t.toml: spec 'n': `step` must be a step's name",
        ),
    ],
)
def test_bad_specs_are_refused_saying_what_and_where(table: object, said: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse(table, source="t.toml")
    assert str(caught.value) == said


def test_an_assertion_is_read_as_written() -> None:
    read = parse_assertion("  attr http.response.status_code >= 500 ")
    assert (read.subject, read.key, read.op, read.expected) == (
        "attr",
        "http.response.status_code",
        ">=",
        500,
    )
    assert parse_assertion("duration < 1.5s").expected == 1.5
    assert parse_assertion("attr x == 'a b'").expected == "a b"
    assert parse_assertion("attr x == 2.5").expected == 2.5
    assert parse_assertion("attr x == word").expected == "word"


def test_each_assertion_keeps_its_words_as_written_without_the_spaces_around() -> None:
    assert [
        parse_assertion(text)
        for text in (" count <= 3 ", "duration < 2ms", "status == error", "attr k != 'v'")
    ] == [
        Assertion("count <= 3", "count", "<=", 3),
        Assertion("duration < 2ms", "duration", "<", 0.002),
        Assertion("status == error", "status", "==", "error"),
        Assertion("attr k != 'v'", "attr", "!=", "v", "k"),
    ]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ('"quoted"', "quoted"),
        ("'single'", "single"),
        ('""', ""),
        ("'", "'"),
        ("'half", "'half"),
        ("\"mixed'", "\"mixed'"),
        ("true", True),
        ("false", False),
        ("True", "True"),
        ("3", 3),
        ("3.0", 3.0),
        ("-2", -2),
        ("1e3", "1e3"),
    ],
)
def test_an_attribute_value_is_a_string_a_boolean_or_a_number_as_written(
    written: str, value: object
) -> None:
    read = parse_assertion(f"attr k == {written}").expected
    assert (read, type(read)) == (value, type(value))


def test_an_open_span_never_meets_a_duration() -> None:
    open_span = Span(T, "c", "r", "chat", "POST /api/chat", KIND_SERVER, 10.0, None)
    (verdict,) = judge(
        [spec("duration < 1s", select={"service": "chat"})], trace(open_span), {"step": T}, ["step"]
    )  # type: ignore[list-item]
    assert verdict.measured == "duration was open (never ended) (chat POST /api/chat)"


def test_a_spec_on_a_service_that_sent_no_span_all_run_is_not_judged() -> None:
    untraced = spec("count == 1", select={"service": "cache"})
    (verdict,) = judge([untraced], trace(CHAT), {"step": T}, ["step"])  # type: ignore[list-item]
    assert (verdict.passed, verdict.judged) == (True, False)
    assert verdict.measured == "not judged: cache sent no span this run"


def test_a_spec_whose_spans_are_only_in_a_failed_step_is_that_steps_news() -> None:
    """The proxy call failed: its retrieval span is no failure of a spec over every
    passing step."""
    other = "d" * 32
    failed_step = [*trace(span("rt", "r", "chat", "retrieval"))]
    health = [Span(other, "h", None, "smoke", "health", KIND_INTERNAL, 1.0, 2.0), CHAT]
    anywhere = spec("duration < 1s", select={"service": "chat", "name": "retrieval"})
    spans = [
        *failed_step,
        *(replace(s, trace_id=other, parent_id=s.parent_id and "h") for s in health[1:]),
        health[0],
    ]
    assert judge([anywhere], spans, {"step": T, "health": other}, ["health"]) == []  # type: ignore[list-item]


def test_every_spec_is_judged_in_every_passing_step_it_applies_to_in_order() -> None:
    """Two steps, the first without a trace; specs one after another, one of them on a
    service that sent nothing: each verdict whole, none lost or cut short."""
    other = "b" * 32
    health = [
        Span(other, "h", None, "smoke", "health", KIND_INTERNAL, 1.0, 2.0),
        Span(other, "hr", "h", "smoke", "GET /health", KIND_CLIENT, 1.0, 1.5),
        Span(other, "hc", "hr", "chat", "GET /health", KIND_SERVER, 1.1, 1.2),
    ]
    spans = [*trace(CHAT), *health]
    traces = {"step": T, "health": other}  # "deps" passed, but left no trace
    passed = ["deps", "step", "health"]
    untraced = spec("count == 1", select={"service": "cache"})
    once = spec("count == 1", select={"service": "chat"})
    chat_only = replace(spec("count == 1", select={"service": "chat"}), step="step")  # type: ignore[type-var]
    verdicts = judge([untraced, once, chat_only], spans, traces, passed)  # type: ignore[list-item]
    assert [
        (
            v.spec,
            v.step,
            v.passed,
            v.judged,
            v.assertion,
            v.measured,
            [s.span_id for s in v.selected],
        )
        for v in verdicts
    ] == [
        (untraced, EVERY_STEP, True, False, "", "not judged: cache sent no span this run", []),
        (once, "step", True, True, "", "", ["c"]),
        (once, "health", True, True, "", "", ["hc"]),
        (chat_only, "step", True, True, "", "", ["c"]),
    ]
    # A step named by the spec is judged only if it passed, though its trace exists.
    assert judge([chat_only], spans, traces, ["health"]) == []  # type: ignore[list-item]


def test_a_spec_over_one_step_that_selects_nothing_fails_once_for_every_step() -> None:
    nowhere = spec("duration < 1s", select={"service": "chat", "name": "cache*"})
    (verdict,) = judge([nowhere], trace(CHAT), {"step": T}, ["step"])  # type: ignore[list-item]
    assert (verdict.step, verdict.passed, verdict.measured) == (
        EVERY_STEP,
        False,
        "selected no span",
    )


def test_a_retried_try_deep_in_a_request_is_left_out_with_all_under_it() -> None:
    retried = span("rt", "c", "chat", "SELECT", status=STATUS_ERROR, **{RETRIED: True})
    under = span("u", "rt", "db", "SELECT", status=STATUS_ERROR)
    kept = span("k", "c", "db", "SELECT")
    spans = trace(CHAT, retried, under, kept)
    (verdict,) = judge([BUILT_IN], spans, {"step": T}, ["step"])
    assert verdict.passed
    statements = spec("count == 1", select={"service": "db"})
    (counted,) = judge([statements], spans, {"step": T}, ["step"])  # type: ignore[list-item]
    assert [s.span_id for s in counted.selected] == ["k"]
