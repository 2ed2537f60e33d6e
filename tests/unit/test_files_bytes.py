"""The report files, byte for byte: CI parses them and people read them, so each
field, name and number is part of what the smoke promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoke.errors import DependencyFailure
from smoke.masking import Masker
from smoke.outcome import Budgets, Outcome, StepResult, Verdict
from smoke.report.files import (
    junit_tree,
    metrics_lines,
    publish_to_github,
    step_summary_markdown,
    write_junit,
    write_metrics,
)

SECRET = "s3cret-pw"
BUDGETS = Budgets(
    max_duration_seconds=30, max_chat_image_bytes=2_000_000_000, max_web_image_bytes=800_000_000
)
PLANNED = ("compose up", "chat dependency health (db)", "web -> chat proxy call", "teardown")


def failed() -> Outcome:
    """db refused chat's password, which the message carries; teardown then ran."""
    failure = DependencyFailure(
        f"chat reports db down: password {SECRET} rejected",
        step="chat dependency health (db)",
        elapsed=0.25,
    )
    return Outcome(
        result="failed",
        profile="lite",
        project="p1",
        planned_steps=PLANNED,
        steps=(
            StepResult("compose up", True, 1.5, finished_at=100.0),
            StepResult("chat dependency health (db)", False, 0.25, failure, 101.75),
            StepResult("teardown", True, 0.5, finished_at=102.25),
            StepResult("extra check", True, 0.125, finished_at=102.5),
        ),
        duration=2.5,
        budgets=BUDGETS,
        verdicts=(
            Verdict("duration", 2.5, 30, "s"),
            Verdict("chat_image", 1_500_000_000, 2_000_000_000, "bytes"),
            Verdict("web_image", 900_000_000, 800_000_000, "bytes"),
        ),
        chat_image_bytes=1_500_000_000,
        web_image_bytes=900_000_000,
        storage_driver="overlay2",
        failure=failure,
        started_at="2026-11-30T10:00:00+00:00",
    )


def interrupted(stopped_by: str | None) -> Outcome:
    return Outcome(
        result="interrupted",
        profile="full",
        project=None,
        planned_steps=("compose up", "teardown"),
        steps=(StepResult("compose up", False, 3.0, None, 50.0),),
        duration=3.0,
        budgets=Budgets(),
        stopped_by=stopped_by,
        started_at="2026-11-30T11:00:00+00:00",
    )


def test_metrics_file(tmp_path: Path) -> None:
    path = tmp_path / "out" / "ci" / "e2e-metrics.txt"
    write_metrics(failed(), path, Masker([SECRET]))
    assert path.read_text(encoding="utf-8") == (
        "result=failed\n"
        "profile=lite\n"
        "project=p1\n"
        "duration_seconds=2.500\n"
        "step_compose_up_seconds=1.500\n"
        "step_chat_dependency_health_db_seconds=0.250\n"
        "step_teardown_seconds=0.500\n"
        "step_extra_check_seconds=0.125\n"
        "step_compose_up_finished_at=100.000\n"
        "step_chat_dependency_health_db_finished_at=101.750\n"
        "step_teardown_finished_at=102.250\n"
        "step_extra_check_finished_at=102.500\n"
        "failed_step=chat dependency health (db)\n"
        "failure_class=chat dependency health (db)\n"
        "chat_image_bytes=1500000000\n"
        "web_image_bytes=900000000\n"
        "docker_storage_driver=overlay2\n"
        "budget_max_duration_seconds=30\n"
        "budget_max_chat_image_bytes=2000000000\n"
        "budget_max_web_image_bytes=800000000\n"
        "budgets_exceeded=web_image\n"
    )


def test_metrics_of_a_run_without_stack_or_failure() -> None:
    metrics = metrics_lines(interrupted("SIGINT"))
    assert metrics[:5] == [
        "result=interrupted",
        "profile=full",
        "project=",
        "duration_seconds=3.000",
        "step_compose_up_seconds=3.000",
    ]
    assert metrics[6:] == [
        "failed_step=",
        "failure_class=",
        "chat_image_bytes=",
        "web_image_bytes=",
        "docker_storage_driver=",
        "budget_max_duration_seconds=420",
        "budget_max_chat_image_bytes=2500000000",
        "budget_max_web_image_bytes=1500000000",
        "budgets_exceeded=",
    ]


def test_junit_file(tmp_path: Path) -> None:
    path = tmp_path / "out" / "ci" / "e2e-junit.xml"
    write_junit(failed(), path, Masker([SECRET]))
    hint = DependencyFailure.hint
    assert path.read_text(encoding="utf-8") == (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        '<testsuites name="contoso-smoke">\n'
        '  <testsuite name="smoke.lite" tests="8" failures="2" errors="0" skipped="1"'
        ' time="2.500" timestamp="2026-11-30T10:00:00+00:00">\n'
        '    <testcase classname="smoke.lite" name="compose up" time="1.500" />\n'
        '    <testcase classname="smoke.lite" name="chat dependency health (db)" time="0.250">\n'
        '      <failure type="chat dependency health (db)"'
        ' message="chat dependency health (db)">'
        f"chat reports db down: password **** rejected\nhint: {hint}</failure>\n"
        "    </testcase>\n"
        '    <testcase classname="smoke.lite" name="web -&gt; chat proxy call" time="0">\n'
        '      <skipped message="not reached" />\n'
        "    </testcase>\n"
        '    <testcase classname="smoke.lite" name="teardown" time="0.500" />\n'
        '    <testcase classname="smoke.lite" name="extra check" time="0.125" />\n'
        '    <testcase classname="smoke.lite.budgets" name="duration budget" time="0" />\n'
        '    <testcase classname="smoke.lite.budgets" name="chat_image budget" time="0" />\n'
        '    <testcase classname="smoke.lite.budgets" name="web_image budget" time="0">\n'
        '      <failure type="budget exceeded"'
        ' message="web_image budget: 900.0 MB &gt; 800.0 MB">'
        "web_image budget: 900.0 MB &gt; 800.0 MB"
        "</failure>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        "</testsuites>"
    )


def test_junit_names_what_stopped_a_step_that_no_check_failed() -> None:
    for stopped_by, kind in (("SIGINT", "SIGINT"), (None, "error")):
        suite = junit_tree(interrupted(stopped_by), str).getroot()[0]
        assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "1", "1")
        failure = suite[0][0]
        assert (failure.tag, failure.get("type"), failure.get("message")) == ("failure", kind, kind)
        assert failure.text == kind
        assert suite[1][0].get("message") == "not reached"


def test_step_summary() -> None:
    hint = DependencyFailure.hint
    assert step_summary_markdown(failed()) == (
        "### Integration smoke (lite): failed\n"
        "\n"
        "| step | result | seconds |\n"
        "| --- | --- | ---: |\n"
        "| compose up | ✅ | 1.50 |\n"
        "| chat dependency health (db) | ❌ | 0.25 |\n"
        "| teardown | ✅ | 0.50 |\n"
        "| extra check | ✅ | 0.12 |\n"
        "\n"
        "| budget | measured | limit | ok |\n"
        "| --- | ---: | ---: | --- |\n"
        "| duration | 2.5 s | 30 s | ✅ |\n"
        "| chat_image | 1.50 GB | 2.00 GB | ✅ |\n"
        "| web_image | 900.0 MB | 800.0 MB | ❌ |\n"
        "\n"
        "**chat dependency health (db)** failed (chat dependency health (db)): "
        f"chat reports db down: password {SECRET} rejected\n"
        "\n"
        f"Hint: {hint}\n"
    )


def test_github_summary_is_appended_masked_and_the_annotation_escaped(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    outcome = failed()
    assert outcome.failure is not None
    outcome.failure.args = (f"100% down\r\nwith {SECRET}",)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    annotation = publish_to_github(outcome, Masker([SECRET]), env)
    assert annotation == (
        "::error title=smoke: chat dependency health (db)::chat dependency health (db): "
        f"100%25 down%0D%0Awith **** (hint: {DependencyFailure.hint})"
    )
    text = summary.read_bytes().decode("utf-8")
    assert text.startswith("earlier step\n### Integration smoke (lite): failed\n")
    assert SECRET not in text
    assert "100% down\r\n│ with ****" in text  # its further line marked as chat's


def test_annotation_for_a_run_over_budget_and_none_for_a_pass(tmp_path: Path) -> None:
    over = Outcome(
        result="over_budget",
        profile="lite",
        project="p1",
        planned_steps=(),
        steps=(),
        duration=40.0,
        budgets=BUDGETS,
        verdicts=(
            Verdict("duration", 40.0, 30, "s"),
            Verdict("web_image", 900_000_000, 800_000_000, "bytes"),
        ),
    )
    env = {"GITHUB_ACTIONS": "true"}
    assert publish_to_github(over, str, env) == (
        "::error title=smoke: budget exceeded::"
        "duration budget: 40.0s > 30s; web_image budget: 900.0 MB > 800.0 MB"
    )
    passed = Outcome("passed", "lite", "p1", (), (), 1.0, BUDGETS)
    summary = tmp_path / "summary.md"
    assert publish_to_github(passed, str, {**env, "GITHUB_STEP_SUMMARY": str(summary)}) is None
    assert summary.read_text(encoding="utf-8").startswith("### Integration smoke (lite): passed")
    # Off GitHub Actions: no annotation, and no summary unless a path is given.
    assert publish_to_github(over, str, {"GITHUB_ACTIONS": "false"}) is None


def test_github_outputs_follow_the_process_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    annotation = publish_to_github(failed(), str)
    assert annotation is not None
    assert annotation.startswith("::error title=smoke: chat dependency health (db)::")
    assert (tmp_path / "summary.md").exists()
