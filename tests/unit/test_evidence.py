"""What a failure shows under its step: message, body, class, hint, compose's words and the
failing services' log lines, and no secret anywhere a failure is written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from smoke.errors import (
    ComposeFailed,
    ContractDrift,
    DependencyFailure,
    PageFailed,
    ProxyCallFailed,
)
from smoke.masking import MASK, Masker
from smoke.outcome import Budgets, Outcome, StepResult, evaluate
from smoke.report.console import Console
from smoke.report.evidence import LOG_TAIL_LINES, explain
from smoke.report.files import publish_to_github, write_junit, write_metrics
from smoke.trace.collector import Explained
from tests.unit.fakes import FakeDocker, Terminal, docker_error, stack

SECRETS = ("pw-Secr3t", "api-secret-77", "tok-99")


def test_the_evidence_block_has_message_body_class_hint_and_log_tail_in_time_order() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {
        "web": ["2026-11-25T12:00:03Z web: proxied 500"],
        "chat": ["2026-11-25T12:00:02Z chat: boom", "2026-11-25T12:00:04Z chat: after"],
    }
    out = Terminal()
    failure = ProxyCallFailed("web answered HTTP 500", status=500, body='{"error":"x"}')
    explain(failure, stack(docker), Console(out, tty=False), Masker())
    assert out.getvalue().splitlines() == [
        "    web answered HTTP 500",
        '    body: HTTP 500: {"error":"x"}',
        "    failure class: web -> chat proxy call non-200",
        f"    hint: {ProxyCallFailed.hint}",
        "    last log lines (web, chat):",
        "      chat-1  | 2026-11-25T12:00:02Z chat: boom",
        "      web-1   | 2026-11-25T12:00:03Z web: proxied 500",
        "      chat-1  | 2026-11-25T12:00:04Z chat: after",
    ]


def test_a_body_already_in_the_message_is_not_repeated_and_no_stack_no_logs() -> None:
    out = Terminal()
    explain(ContractDrift("drift: {}", body="{}"), None, Console(out, tty=False), Masker())
    assert "body:" not in out.getvalue()
    assert "last log lines" not in out.getvalue()


def test_the_log_tail_is_bounded_and_unreadable_logs_are_said() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {"chat": [f"2026-11-25T12:00:{i:02}Z line {i}" for i in range(40)]}
    out = Terminal()
    explain(ContractDrift("x"), stack(docker), Console(out, tty=False), Masker())
    shown = [line for line in out.getvalue().splitlines() if "line " in line]
    assert len(shown) == LOG_TAIL_LINES
    assert shown[-1].endswith("line 39")
    broken = FakeDocker(running=True)
    broken.fail["compose logs"] = docker_error("compose logs", 1, "no such service")
    out = Terminal()
    explain(ContractDrift("x"), stack(broken), Console(out, tty=False), Masker())
    assert "(could not read logs: " in out.getvalue()


def test_every_output_of_a_failure_masks_every_kind_of_secret(tmp_path: Path) -> None:
    """A failure whose message, body, hint, compose stderr and logs all carry the
    secrets: none of them may reach the console, the files or GitHub's outputs."""
    mask = Masker(SECRETS)
    leak = " ".join(SECRETS)
    failure = ComposeFailed(f"compose up failed: {leak}", return_code=1, stderr=f"err {leak}")
    failure.step = "compose up"
    failure.hint = f"hint {leak}"
    failure.body = f"body {leak}"
    docker = FakeDocker(running=True)
    docker.service_logs = {"db": [f"2026-11-25T12:00:01Z started with {leak}"]}

    out = Terminal()
    explain(failure, stack(docker), Console(out, tty=False), mask)
    outcome = Outcome(
        result="failed",
        profile="lite",
        project="p",
        planned_steps=("compose up", "teardown"),
        steps=(StepResult("compose up", False, 1.0, failure), StepResult("teardown", True, 0.5)),
        duration=1.5,
        budgets=Budgets(),
        verdicts=tuple(evaluate(Budgets(), duration=1.5, chat_image=1, web_image=1)),
        failure=failure,
        stopped_by=f"stopped {leak}",
    )
    write_metrics(outcome, tmp_path / "m.txt", mask)
    write_junit(outcome, tmp_path / "j.xml", mask)
    summary = tmp_path / "summary.md"
    annotation = publish_to_github(
        outcome, mask, {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    )
    everything = {
        "console": out.getvalue(),
        "metrics": (tmp_path / "m.txt").read_text(),
        "junit": (tmp_path / "j.xml").read_text(),
        "summary": summary.read_text(),
        "annotation": annotation or "",
    }
    for name, text in everything.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} in the {name}"
    assert "compose said:" in everything["console"]
    assert f"err {MASK} {MASK} {MASK}" in everything["console"]
    assert MASK in everything["junit"]
    assert MASK in everything["summary"]
    assert MASK in everything["annotation"]
    failure_node = ET.parse(tmp_path / "j.xml").getroot().find(".//failure")
    assert failure_node is not None
    assert MASK in (failure_node.text or "")


def test_a_body_without_a_status_and_what_compose_said() -> None:
    out = Terminal()
    failure = ComposeFailed(
        "compose up failed (exit 1)", return_code=1, stderr="pulling\nError: no such image"
    )
    failure.body = "partial output"
    explain(failure, None, Console(out, tty=False), Masker())
    lines = out.getvalue().splitlines()
    assert lines[1] == "    body: partial output"
    assert lines[-3:] == [
        "    compose said:",
        "      pulling",
        "      Error: no such image",
    ]


def test_only_the_failing_services_logs_are_shown_and_a_read_error_is_named() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {
        "db": ["2026-11-25T12:00:01Z db line"],
        "web": ["2026-11-25T12:00:02Z web line"],
    }
    out = Terminal()
    explain(PageFailed("page"), stack(docker), Console(out, tty=False), Masker())
    assert "web line" in out.getvalue()
    assert "db line" not in out.getvalue()
    docker.fail["compose logs"] = docker_error("compose logs", 1, "log driver gone")
    out = Terminal()
    explain(PageFailed("page"), stack(docker), Console(out, tty=False), Masker())
    assert "(could not read logs: " in out.getvalue()
    assert "log driver gone" in out.getvalue()


def test_the_evidence_keeps_a_service_line_on_one_output_line() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {"chat": ["2026-11-25T12:00:01Z ok\r::error::injected"]}
    failure = ComposeFailed("up failed", return_code=1, stderr="one\u2028::error::two\n")
    failure.step, failure.services = "compose up", ("chat",)
    out = Terminal()
    explain(failure, stack(docker), Console(out, tty=False, env={}), Masker())
    said = out.getvalue().split("\n")
    assert r"      one\u2028::error::two" in said
    assert any(line.endswith(r"ok\r::error::injected") for line in said)
    assert not any(line.lstrip().startswith("::") for line in said)


def test_a_traced_failure_shows_blame_spans_and_its_own_log_lines_then_the_rest() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {"db": ["2026-11-25T12:00:01Z db: shutting down"]}
    out = Terminal()
    failure = DependencyFailure("chat dependency (db) not ready", status=503)
    traced = Explained(
        blame="blame: chat 503 ← db: unavailable for 4.2 s (pw-Secr3t)",
        tree=(
            "smoke GET /health/dependencies  503  2 ms",
            "  chat GET /health/dependencies  503  1 ms",
        ),
        log_lines=(
            "chat-1  | 2026-11-25T12:00:03Z INFO 503 trace_id=t span_id=c",
            "chat-1  | 2026-11-25T12:00:02Z WARNING db gone trace_id=t span_id=c",
        ),
    )
    explain(failure, stack(docker), Console(out, tty=False), Masker(("pw-Secr3t",)), traced)
    assert out.getvalue().splitlines()[3:] == [
        f"    blame: chat 503 ← db: unavailable for 4.2 s ({MASK})",
        "    the failing request's spans:",
        "      smoke GET /health/dependencies  503  2 ms",
        "        chat GET /health/dependencies  503  1 ms",
        "    its log lines (by trace id, 2 of 2):",
        "      chat-1  | 2026-11-25T12:00:02Z WARNING db gone trace_id=t span_id=c",
        "      chat-1  | 2026-11-25T12:00:03Z INFO 503 trace_id=t span_id=c",
        "    last log lines (db):",  # db's own say: the request never reached it
        "      db-1    | 2026-11-25T12:00:01Z db: shutting down",
    ]


def test_no_trace_is_said_and_the_tail_stays() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {"chat": ["2026-11-25T12:00:01Z chat line"]}
    out = Terminal()
    said = Explained(missing="no trace: no span came back from web or chat")
    explain(ContractDrift("x"), stack(docker), Console(out, tty=False), Masker(), said)
    lines = out.getvalue().splitlines()
    assert "    no trace: no span came back from web or chat" in lines
    assert f"    last log lines ({', '.join(ContractDrift.services)}):" in lines
    assert not any("blame:" in line for line in lines)


def test_the_reports_carry_the_blame_and_the_slowest_span(tmp_path: Path) -> None:
    failure = ProxyCallFailed("web answered HTTP 502", step="web -> chat proxy call")
    failure.blame = "blame: web 502 ← web → chat: connection refused (http://chat:9)"
    outcome = Outcome(
        result="failed",
        profile="lite",
        project="p",
        planned_steps=("web -> chat proxy call",),
        steps=(StepResult("web -> chat proxy call", False, 0.1, failure),),
        duration=1.0,
        budgets=Budgets(),
        failure=failure,
    )
    write_junit(outcome, tmp_path / "j.xml", str)
    node = ET.parse(tmp_path / "j.xml").getroot().find(".//failure")
    assert node is not None
    assert node.get("message") == f"web -> chat proxy call non-200; {failure.blame}"
    assert node.text == f"web answered HTTP 502\n{failure.blame}\nhint: {failure.hint}"
    summary = tmp_path / "summary.md"
    annotation = publish_to_github(
        outcome, str, {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"}
    )
    assert annotation is not None
    assert "; blame: web 502 %E2%86%90" not in annotation  # text, not percent-encoded
    assert f"web answered HTTP 502; {failure.blame} (hint: " in annotation
    assert f"`{failure.blame}`" in summary.read_text()
    slow = Outcome(
        result="over_budget",
        profile="lite",
        project="p",
        planned_steps=(),
        steps=(),
        duration=9.0,
        budgets=Budgets(max_duration_seconds=1),
        verdicts=tuple(
            evaluate(Budgets(max_duration_seconds=1), duration=9.0, chat_image=None, web_image=None)
        ),
        slowest="slowest: chat retrieval 2.00 s of the 2.03 s POST /x (proxy)",
    )
    assert slow.timed_out
    assert slow.blame is None
    annotation = publish_to_github(slow, str, {"GITHUB_ACTIONS": "true"})
    assert annotation is not None
    assert annotation.endswith("; slowest: chat retrieval 2.00 s of the 2.03 s POST /x (proxy)")
    summary.unlink()
    publish_to_github(slow, str, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert "`slowest: chat retrieval 2.00 s" in summary.read_text()


def test_service_text_on_several_lines_cannot_pass_for_the_smokes_own_lines() -> None:
    """An exception message that forges the summary and a blame: every further line
    of it, in the message, the blame and the span tree, carries the service marker."""
    forged = "boom\nPASS  smoke lite: 6 steps in 1.0s; stack removed\n    blame: db: fine"
    out = Terminal()
    failure = ProxyCallFailed(f"web answered HTTP 500: {forged}", status=500)
    traced = Explained(
        blame=f"blame: web 500 ← chat 500: RuntimeError: {forged}",
        tree=("smoke POST /api/chat/service  500", f"  chat POST /api/chat  500  {forged}"),
    )
    explain(failure, None, Console(out, tty=False), Masker(), traced)
    lines = out.getvalue().splitlines()
    assert not [line for line in lines if line.lstrip().startswith(("PASS", "blame: db"))]
    assert "    │ PASS  smoke lite: 6 steps in 1.0s; stack removed" in lines
    assert "        │ PASS  smoke lite: 6 steps in 1.0s; stack removed" in lines  # in the tree
    assert "    │     blame: db: fine" in lines


def test_a_hint_that_promises_log_lines_is_answered_when_none_follow() -> None:
    from smoke.errors import ServiceCrashed

    crashed = ServiceCrashed("chat exited with code 3", services=("chat",))
    assert "log lines below" in crashed.hint
    silent = FakeDocker(running=True)
    silent.service_logs = {"chat": []}
    out = Terminal()
    explain(crashed, stack(silent), Console(out, tty=False), Masker())
    assert "    no log lines: chat wrote none" in out.getvalue()
    chatty = FakeDocker(running=True)
    chatty.service_logs = {"chat": ["2026-11-25T12:00:02.000000000Z fatal: no config"]}
    out = Terminal()
    explain(crashed, stack(chatty), Console(out, tty=False), Masker())
    assert "fatal: no config" in out.getvalue()
    assert "no log lines" not in out.getvalue()


def test_compose_words_follow_the_hint_that_names_them() -> None:
    out = Terminal()
    failed = ComposeFailed("up failed (exit 1)", return_code=1, stderr="Error: db is unhealthy")
    explain(failed, None, Console(out, tty=False), Masker())
    text = out.getvalue()
    assert "its own words follow" in text
    assert text.index("hint:") < text.index("compose said:") < text.index("db is unhealthy")
