"""How a run ended: the specs judged or why not, the trace files never fatal, spans
read from the log file on the log route."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from smoke.ended import judge, read_log_spans, trace_files
from smoke.masking import Masker
from smoke.report.console import Console
from smoke.steps import StepRunner
from smoke.trace.collector import Collector
from smoke.trace.context import Tracer
from smoke.trace.route import Route
from smoke.trace.specs import parse
from tests.unit.fakes import FakeDocker, stack

SPEC = parse(
    {"name": "one call", "select": {"service": "chat"}, "assert": ["count == 1"]}, source="test"
)


def chat_span_line(trace_id: str, name: str) -> str:
    """A compose log line of chat's carrying one span of ``trace_id`` (the log route)."""
    return (
        'chat-1  | {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",'
        '"value":{"stringValue":"chat"}}]},"scopeSpans":[{"spans":[{"traceId":"'
        + trace_id
        + f'","spanId":"00000000000000c1","name":"{name}","kind":2,'
        '"startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}\n'
    )


def test_specs_are_not_judged_without_a_stack_or_with_a_problem_and_it_is_said() -> None:
    out = io.StringIO()
    console = Console(out, tty=False)
    collector = Collector(Tracer())
    steps = StepRunner(console)
    judged = judge([SPEC], None, None, collector, steps, console, Masker())
    assert judged.not_judged == (
        "a stack this run did not start sends it no span (--web-url/--chat-url)"
    )
    collector.problem = "no trace: cannot listen on 172.17.0.1:24318 (in use)"
    judged = judge([SPEC], None, stack(FakeDocker()), collector, steps, console, Masker())
    assert judged.not_judged == collector.problem
    judged = judge([SPEC], "--no-specs", None, collector, steps, console, Masker())
    assert judged.not_judged == "--no-specs"
    assert out.getvalue().splitlines() == [
        "  trace specs: not judged: a stack this run did not start sends it no span "
        "(--web-url/--chat-url)",
        f"  trace specs: not judged: {collector.problem}",
        "  trace specs: not judged: --no-specs",
    ]
    assert judge([], None, None, collector, steps, console, Masker()).not_judged is None


def test_trace_files_that_cannot_be_written_are_said_and_the_receiver_still_stops(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    out = io.StringIO()
    console = Console(out, tty=False)
    collector = Collector(Tracer(), Route("otlp", "127.0.0.1", 0))
    collector.start()
    written = trace_files(
        blocked / "e2e.log", collector, StepRunner(console), [], None, Masker(), [], console
    )
    assert written is None
    assert out.getvalue().startswith("could not write the trace files: ")
    assert collector.receiver is None  # closed all the same
    fine = trace_files(
        tmp_path / "e2e.log", collector, StepRunner(console), [], None, Masker(), [], console
    )
    assert fine is not None
    assert (tmp_path / "e2e-trace.json").is_file()


def test_spans_are_read_from_the_log_file_only_on_the_log_route(tmp_path: Path) -> None:
    tracer = Tracer()
    with tracer.step("deps"):
        pass
    (trace_id,) = tracer.trace_ids
    line = chat_span_line(trace_id, "GET /x")
    log = tmp_path / "e2e.log"
    log.write_text(line)
    on_logs = Collector(tracer, Route("log", None, 0))
    read_log_spans(log, on_logs)
    assert "chat" in {s.service for s in on_logs.spans()}
    by_otlp = Collector(tracer, Route("otlp", "127.0.0.1", 0))
    read_log_spans(log, by_otlp)
    assert "chat" not in {s.service for s in by_otlp.spans()}
    read_log_spans(tmp_path / "missing.log", on_logs)  # no file: nothing, no error


def test_a_log_line_that_is_not_utf8_does_not_hide_the_spans_after_it(tmp_path: Path) -> None:
    """A service may print any bytes; the spans of the log file are read all the same."""
    tracer = Tracer()
    with tracer.step("deps"):
        pass
    (trace_id,) = tracer.trace_ids
    span = chat_span_line(trace_id, "GET /caf\u00e9")
    log = tmp_path / "e2e.log"
    log.write_bytes(b"web-1  | latin-1 bytes: caf\xe9 \xff\n" + span.encode())
    on_logs = Collector(tracer, Route("log", None, 0))
    read_log_spans(log, on_logs)
    assert [s.name for s in on_logs.spans() if s.service == "chat"] == ["GET /caf\u00e9"]


def test_the_specs_are_judged_on_the_spans_of_the_passing_steps_but_the_teardown() -> None:
    """chat's error span in a passing step breaks the built-in spec, said on the
    console with the span; the teardown's and a failed step's spans are not judged."""
    from smoke.errors import CheckFailed
    from smoke.trace.spans import KIND_SERVER, STATUS_ERROR, Span
    from smoke.trace.specs import BUILT_IN

    out = io.StringIO()
    console = Console(out, tty=False)
    tracer = Tracer()
    steps = StepRunner(console, traced=tracer.step)
    steps.run("proxy", lambda: None)
    steps.run("teardown", lambda: None)
    roots = {s.trace_id: s.span_id for s in tracer.spans() if s.parent_id is None}
    collector = Collector(tracer)
    for step, span_id in (("proxy", "c1"), ("teardown", "c2")):
        trace_id = tracer.trace_of(step)
        assert trace_id is not None
        collector._received.append(  # under the step's own span, as a request's would be
            Span(
                trace_id,
                span_id,
                roots[trace_id],
                "chat",
                "POST /api/chat",
                KIND_SERVER,
                1.0,
                1.1,
                status=STATUS_ERROR,
                message="boom s3cret",
            )
        )
    judged = judge(
        [BUILT_IN], None, stack(FakeDocker()), collector, steps, console, Masker(["s3cret"])
    )
    assert judged.failure is not None
    assert [(o.name, o.passed) for o in judged.outcomes] == [
        ("no error span in a passing step", False)
    ]
    assert "proxy" in judged.outcomes[0].said
    assert judged.marked == frozenset({"c1"})  # the teardown's span is not judged
    assert judged.seconds is not None
    said = out.getvalue()
    assert "no error span in a passing step" in said
    assert "count == 0: count was 1" in said  # the proxy step's span alone
    assert "chat POST /api/chat  100 ms" in said
    failing = StepRunner(console, traced=tracer.step)

    def fails() -> None:
        raise CheckFailed("no")

    with contextlib.suppress(CheckFailed):
        failing.run("proxy", fails)
    quiet = judge([BUILT_IN], None, stack(FakeDocker()), collector, failing, console, Masker())
    assert quiet.failure is None  # a failed step is its own news
