"""What a person sees of the trace specs: one line when they hold, a failure line of
its own for a broken one with what it selected (masked, service text marked), and
the failure that fails the run."""

from __future__ import annotations

from smoke.masking import Masker
from smoke.report.console import Console
from smoke.report.verdicts import judge_run
from smoke.trace.spans import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, Span
from smoke.trace.specs import BUILT_IN, parse
from tests.unit.fakes import Terminal

T = "c" * 32
STEP = "web -> chat proxy call"
SPANS = [
    Span(T, "s", None, "smoke", STEP, KIND_INTERNAL, 10.0, 11.0),
    Span(T, "r", "s", "smoke", "POST /api/chat/service", KIND_CLIENT, 10.1, 10.9),
    *(
        Span(
            T,
            f"c{i}",
            "r",
            "chat",
            "POST /api/chat",
            KIND_SERVER,
            10.2,
            10.204,
            attributes={"http.response.status_code": 200, "key": "sk-1"},
        )
        for i in range(3)
    ),
]
ONCE = parse(
    {
        "name": "web calls chat once per question",
        "step": STEP,
        "per": "request",
        "select": {"service": "chat", "name": "POST /api/chat"},
        "assert": ["count == 1"],
    },
    source="pyproject.toml",
)


def test_specs_that_hold_are_one_line() -> None:
    out = Terminal()
    judged = judge_run([BUILT_IN], SPANS, {STEP: T}, [STEP], Console(out, tty=False), Masker())
    assert judged.failure is None
    assert [o.passed for o in judged.outcomes] == [True]
    assert out.getvalue().splitlines() == ["  trace specs: 1 spec held over 1 passing step"]


def test_a_broken_spec_is_a_failure_line_of_its_own_with_what_it_selected() -> None:
    out = Terminal()
    judged = judge_run(
        [BUILT_IN, ONCE], SPANS, {STEP: T}, [STEP], Console(out, tty=False), Masker()
    )
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("  ✗ trace spec: web calls chat once per question")
    assert lines[1:] == [
        "    spec: web calls chat once per question (web -> chat proxy call): count == 1: "
        "count was 3",
        "    from: pyproject.toml",
        "    the spans it selected (3):",
        "      chat POST /api/chat  200  4 ms",
        "      chat POST /api/chat  200  4 ms",
        "      chat POST /api/chat  200  4 ms",
    ]
    assert judged.failure is not None
    assert judged.failure.step == "trace spec: web calls chat once per question"
    assert judged.failure.exit_code == 1
    assert judged.failure.blame == (
        "spec: web calls chat once per question (web -> chat proxy call): count == 1: count was 3"
    )
    assert judged.marked == {"c0", "c1", "c2"}
    assert [(o.name, o.passed) for o in judged.outcomes] == [
        (BUILT_IN.name, True),
        ("web calls chat once per question", False),
    ]


def test_a_spec_name_holding_a_secret_or_a_forged_line_is_masked_and_marked() -> None:
    forged = parse(
        {
            "name": "sk-1\nPASS  smoke lite",
            "step": STEP,
            "select": {"service": "chat"},
            "assert": ["count == 0"],
        },
        source="mine.toml",
    )
    out = Terminal()
    judge_run([forged], SPANS, {STEP: T}, [STEP], Console(out, tty=False), Masker(["sk-1"]))
    text = out.getvalue()
    assert "sk-1" not in text
    assert not [line for line in text.splitlines() if line.lstrip().startswith("PASS")]


def test_a_spec_on_a_service_that_sent_no_span_is_said_not_judged() -> None:
    """A stand-in chat that traces nothing: the spec says so, and fails nothing."""
    cache = parse(
        {"name": "cache hit", "select": {"service": "cache"}, "assert": ["count == 1"]},
        source="mine.toml",
    )
    out = Terminal()
    judged = judge_run(
        [BUILT_IN, cache], SPANS, {STEP: T}, [STEP], Console(out, tty=False), Masker()
    )
    assert judged.failure is None
    assert out.getvalue().splitlines() == [
        "  trace spec cache hit: not judged: cache sent no span this run",
        "  trace specs: 1 spec held over 1 passing step",
    ]
    assert [(o.passed, o.said) for o in judged.outcomes] == [
        (True, ""),
        (True, "not judged: cache sent no span this run"),
    ]


def test_every_spec_has_its_outcome_and_every_broken_one_its_spans_marked() -> None:
    """A spec not judged, two broken ones (the first fails the run), one that held:
    each outcome in order, the spans of both broken specs marked, an open span said
    open, and judging that took no time said as none."""
    db = [
        Span(T, "q", "c0", "db", "SELECT", KIND_CLIENT, 10.2, 11.7),
        Span(T, "o", "c0", "db", "INSERT", KIND_CLIENT, 10.3, None),
    ]
    no_db = parse(
        {"name": "no db", "step": STEP, "select": {"service": "db"}, "assert": ["count == 0"]},
        source="mine.toml",
    )
    cache = parse(
        {"name": "cache hit", "select": {"service": "cache"}, "assert": ["count == 1"]},
        source="mine.toml",
    )
    out = Terminal()
    judged = judge_run(
        [cache, ONCE, no_db, BUILT_IN],
        [*SPANS, *db],
        {STEP: T},
        [STEP],
        Console(out, tty=False),
        Masker(),
    )
    once_said = "web calls chat once per question (web -> chat proxy call): count == 1: count was 3"
    assert [(o.name, o.passed, o.said) for o in judged.outcomes] == [
        ("cache hit", True, "not judged: cache sent no span this run"),
        ("web calls chat once per question", False, once_said),
        ("no db", False, "no db (web -> chat proxy call): count == 0: count was 2"),
        (BUILT_IN.name, True, ""),
    ]
    assert judged.marked == {"c0", "c1", "c2", "q", "o"}
    assert judged.failure is not None
    assert str(judged.failure) == once_said
    assert judged.seconds == 0.0  # on the fake clock, judging takes no time
    lines = out.getvalue().splitlines()
    assert lines[0] == "  trace spec cache hit: not judged: cache sent no span this run"
    assert lines[1].endswith("  0.00s")
    assert lines[-2:] == ["      db SELECT  1500 ms", "      db INSERT  open"]
