"""Trace specs against the real stack: faults whose answers are all fine fail on
what happened inside, the reference stack passes with the defaults again and again,
and a spec file of the user's own is read, judged, and refused when it cannot be."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import leftovers
from tests.integration.faultkit import metrics, one_line_error, run_fault

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def spec_failure(output: str) -> list[str]:
    """The failed spec's lines: its ✗ line and the details under it."""
    lines = output.splitlines()
    at = next(i for i, line in enumerate(lines) if "✗ trace spec: " in line)
    return [lines[at], *(line for line in lines[at + 1 :] if line.startswith("    "))]


def test_a_retry_storm_with_fine_answers_fails_its_spec(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, "web-spec-faults", WEB_FAULT="retry-storm")
    assert run.returncode == 1, run.output
    for step in ("web -> chat proxy call", "response contract"):
        assert f"✓ {step}" in run.output  # every answer was fine
    said = spec_failure(run.output)
    assert "✗ trace spec: web calls chat once per question" in said[0]
    assert (
        "    spec: web calls chat once per question (web -> chat proxy call): "
        "count == 1: count was 3"
    ) in said
    assert "    from: [[tool.smoke.spec]] of pyproject.toml" in said
    assert sum(1 for line in said if re.match(r" +chat POST /api/chat  200  \d+ ms$", line)) == 3
    assert "FAIL  smoke lite: trace spec: web calls chat once per question failed" in run.output
    assert "failure class: trace spec failed" not in run.output  # no evidence block: it passed
    found = metrics(tmp_path)
    assert found["result"] == "failed"
    assert found["failure_class"] == "trace spec failed"
    assert found["spec_web_calls_chat_once_per_question"] == "failed"
    assert found["spec_no_error_span_in_a_passing_step"] == "passed"
    assert 0 <= float(found["specs_seconds"]) < 1
    junit = (tmp_path / "e2e-junit.xml").read_text()
    assert 'name="web calls chat once per question"' in junit
    assert "count == 1: count was 3" in junit
    page = (tmp_path / "e2e-report.html").read_text()
    assert page.count('class="row span selected') >= 3  # the spans it selected, marked
    assert leftovers(clean_project) == []


def test_a_swallowed_chat_error_under_a_200_fails_the_built_in_spec(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(
        clean_project,
        tmp_path,
        "chat-faults",
        "web-spec-faults",
        FAULT_MODE="raise",
        WEB_FAULT="swallow",
    )
    assert run.returncode == 1, run.output
    assert "✓ web -> chat proxy call" in run.output
    said = spec_failure(run.output)
    assert "✗ trace spec: no error span in a passing step" in said[0]
    assert (
        "    spec: no error span in a passing step (web -> chat proxy call): count == 0: "
        "count was 2"
    ) in said
    assert "    from: built in" in said
    assert any(re.match(r" +chat POST /api/chat  500  \d+ ms$", line) for line in said)
    assert leftovers(clean_project) == []


def test_an_error_page_web_makes_of_chats_500_is_blamed_on_chat_by_the_proxy_calls_trace(
    clean_project: str, tmp_path: Path
) -> None:
    """The contract step judges the proxy call's answer and makes no request itself:
    its failure is explained from the proxy call's trace, where chat's 500 is."""
    run = run_fault(
        clean_project,
        tmp_path,
        "chat-faults",
        "web-spec-faults",
        FAULT_MODE="raise",
        WEB_FAULT="error-page",
    )
    assert run.returncode == 1, run.output
    assert "✓ web -> chat proxy call" in run.output
    assert "✗ response contract" in run.output
    blame = [line.strip() for line in run.output.splitlines() if line.strip().startswith("blame:")]
    assert blame == ["blame: web 200 ← chat 500: RuntimeError: catalog index corrupt"]
    assert "step made no request" not in run.output
    assert run.seconds < 60
    assert leftovers(clean_project) == []


@pytest.mark.parametrize("profile", ["lite", "full"])
def test_the_reference_stack_passes_with_the_default_specs_ten_times(
    clean_project: str, tmp_path: Path, profile: str
) -> None:
    for attempt in range(10):
        run = run_fault(
            clean_project, tmp_path, profile=profile, args=("--no-build",) if attempt else ()
        )
        assert run.returncode == 0, f"run {attempt + 1}:\n{run.output}"
        assert re.search(r"\n  trace specs: 4 specs held over \d+ passing steps\n", run.output)
    assert leftovers(clean_project) == []


def test_a_spec_file_of_ones_own_is_judged(clean_project: str, tmp_path: Path) -> None:
    specs = tmp_path / "specs.toml"
    specs.write_text(
        "[[spec]]\n"
        "name = 'chat answers in under a microsecond'\n"
        "select = { service = 'chat', name = 'POST /api/chat' }\n"
        "assert = ['duration < 1us']\n",
        encoding="utf-8",
    )
    run = run_fault(clean_project, tmp_path, args=("--spec", str(specs)))
    assert run.returncode == 1, run.output
    said = spec_failure(run.output)
    assert "✗ trace spec: chat answers in under a microsecond" in said[0]
    assert re.search(
        r"spec: chat answers in under a microsecond \(web -> chat proxy call\): duration < 1us: "
        r"duration was [\d.]+ ms \(chat POST /api/chat\)",
        "\n".join(said),
    )
    assert f"    from: {specs}" in said
    assert leftovers(clean_project) == []


def test_a_spec_file_that_does_not_parse_exits_2_naming_its_file_and_line(
    clean_project: str, tmp_path: Path
) -> None:
    specs = tmp_path / "broken.toml"
    specs.write_text(
        "[[spec]]\nname = 'x'\nselect = { service = chat }\nassert = ['count == 1']\n",
        encoding="utf-8",
    )
    run = run_fault(clean_project, tmp_path, args=("--spec", str(specs)))
    assert run.returncode == 2, run.output
    said = one_line_error(run)
    assert f"{specs} is not valid TOML" in said
    assert "line 3" in said
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[[spec]]\nname = 'x'\nassert = ['count ~ 1']\n", encoding="utf-8")
    run = run_fault(clean_project, tmp_path, args=("--spec", str(unknown)))
    assert run.returncode == 2, run.output
    said = one_line_error(run)
    assert f"{unknown}: spec 'x': cannot read the assertion 'count ~ 1'" in said
    assert leftovers(clean_project) == []
