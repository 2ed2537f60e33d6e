"""The reports a run writes: JUnit, metrics, the GitHub step summary and annotation."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

from smoke.errors import ContractDrift, ProxyCallFailed
from smoke.outcome import Budgets, Outcome, SpecOutcome, StepResult, evaluate
from smoke.report.files import (
    junit_tree,
    metrics_lines,
    publish_to_github,
    step_summary_markdown,
)


def failed_outcome() -> Outcome:
    failure = ContractDrift(
        "response contract drift: no 'answer' or 'response' field",
        step="response contract",
        elapsed=0.0,
    )
    return Outcome(
        result="failed",
        profile="lite",
        project="p",
        planned_steps=("compose up", "chat health", "response contract", "teardown"),
        steps=(
            StepResult("compose up", True, 2.0),
            StepResult("chat health", True, 0.1),
            StepResult("response contract", False, 0.0, failure),
            StepResult("teardown", True, 1.0),
        ),
        duration=3.2,
        budgets=Budgets(),
        failure=failure,
        verdicts=tuple(evaluate(Budgets(), duration=3.2, chat_image=None, web_image=None)),
    )


def test_junit_has_one_case_per_step_and_the_failure_class() -> None:
    root = junit_tree(failed_outcome(), str).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases)[:4] == ["compose up", "chat health", "response contract", "teardown"]
    failure = cases["response contract"].find("failure")
    assert failure is not None
    assert failure.get("type") == "response contract drift"
    assert "hint:" in (failure.text or "")
    assert suite.get("failures") == "1"
    ET.fromstring(ET.tostring(root))  # well-formed


def test_metrics_name_the_failure() -> None:
    metrics = dict(line.split("=", 1) for line in metrics_lines(failed_outcome()))
    assert metrics["result"] == "failed"
    assert metrics["failed_step"] == "response contract"
    assert metrics["failure_class"] == "response contract drift"
    assert metrics["step_response_contract_seconds"] == "0.000"


def test_github_summary_and_annotation(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    annotation = publish_to_github(
        failed_outcome(),
        str,
        {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert annotation is not None
    assert annotation.startswith("::error title=smoke: response contract::response contract drift")
    assert "| response contract | ❌ |" in summary.read_text()
    assert publish_to_github(failed_outcome(), str, {}) is None


def test_the_step_summary_carries_the_blame_and_names_the_slowest_span_only_when_timed_out() -> (
    None
):
    failure = ProxyCallFailed("web answered HTTP 500", step="web -> chat proxy call")
    failure.blame = "blame: web 500 ← chat 500"
    failed = Outcome(
        result="failed",
        profile="lite",
        project="p",
        planned_steps=(),
        steps=(StepResult("web -> chat proxy call", False, 0.1, failure),),
        duration=1.0,
        budgets=Budgets(),
        failure=failure,
        slowest="slowest: chat retrieval 0.10 s of the 0.11 s POST /x (proxy)",
    )
    text = step_summary_markdown(failed)
    assert text.endswith(
        "**web -> chat proxy call** failed (web -> chat proxy call non-200): "
        "web answered HTTP 500\n\n`blame: web 500 ← chat 500`\n\n"
        "Hint: web's route cannot reach chat, or chat returned an upstream error\n"
    )
    assert "slowest" not in text  # it failed, but not for time
    failure.timed_out = True
    timed = step_summary_markdown(failed)
    assert timed.startswith("### Integration smoke (lite): failed\n")
    assert timed.endswith(
        "an upstream error\n\n`slowest: chat retrieval 0.10 s of the 0.11 s POST /x (proxy)`\n"
    )


def test_junit_has_a_suite_of_the_trace_specs_one_case_each_masked() -> None:
    """A broken spec fails its case with the measure; one not judged is skipped, why
    said; a spec that held is a bare case. Secrets in a spec's name or words are masked."""
    outcome = dataclasses.replace(
        failed_outcome(),
        specs=(
            SpecOutcome("one chat call per s3cret question", True),
            SpecOutcome("chat under 3 db statements", False, "proxy: count <= 3: was 5 s3cret"),
            SpecOutcome("retrieval < 500 ms", True, "not judged: chat sent no span all run"),
        ),
    )
    root = junit_tree(outcome, lambda text: text.replace("s3cret", "***")).getroot()
    steps, specs = root.findall("testsuite")
    assert steps.get("name") != specs.get("name")
    assert dict(specs.attrib) == {
        "name": "smoke.lite.specs",
        "tests": "3",
        "failures": "1",
        "errors": "0",
        "skipped": "1",
        "time": "0",
    }
    held, broken, unjudged = specs.findall("testcase")
    assert [dict(case.attrib) for case in (held, broken, unjudged)] == [
        {"classname": "smoke.lite.specs", "name": name, "time": "0"}
        for name in (
            "one chat call per *** question",
            "chat under 3 db statements",
            "retrieval < 500 ms",
        )
    ]
    assert list(held) == []
    (failure,) = broken
    assert failure.tag == "failure"
    assert dict(failure.attrib) == {
        "type": "trace spec failed",
        "message": "proxy: count <= 3: was 5 ***",
    }
    assert failure.text == "proxy: count <= 3: was 5 ***"
    (skipped,) = unjudged
    assert skipped.tag == "skipped"
    assert dict(skipped.attrib) == {"message": "not judged: chat sent no span all run"}
    no_specs = junit_tree(failed_outcome(), str).getroot()
    assert len(no_specs.findall("testsuite")) == 1


def test_metrics_have_a_line_per_spec_and_the_judging_time() -> None:
    outcome = dataclasses.replace(
        failed_outcome(),
        specs=(
            SpecOutcome("one chat call", True),
            SpecOutcome("db statements", False, "proxy: count <= 3: was 5"),
            SpecOutcome("retrieval", True, "not judged: chat sent no span all run"),
        ),
        specs_seconds=0.00123,
    )
    metrics = dict(line.split("=", 1) for line in metrics_lines(outcome))
    assert {key: value for key, value in metrics.items() if key.startswith("spec")} == {
        "spec_one_chat_call": "passed",
        "spec_db_statements": "failed",
        "spec_retrieval": "not_judged",
        "specs_seconds": "0.0012",
    }
    assert not [key for key in metrics_lines(failed_outcome()) if key.startswith("spec")]
