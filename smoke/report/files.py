"""Files and annotations a finished run leaves behind: metrics (key=value), JUnit
XML, and on GitHub Actions a step summary table and an error annotation; the
records other tools leave beside them (Schemathesis's), masked as data.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from smoke.masking import Masker, quoted
from smoke.outcome import Outcome, format_size, step_key


def metrics_lines(outcome: Outcome) -> list[str]:
    def value(v: object) -> str:
        return "" if v is None else str(v)

    lines = {
        "result": outcome.result,
        "profile": outcome.profile,
        "project": value(outcome.project),
        "duration_seconds": f"{outcome.duration:.3f}",
    }
    for step in outcome.steps:
        lines[f"step_{step_key(step.name)}_seconds"] = f"{step.seconds:.3f}"
    for step in outcome.steps:
        lines[f"step_{step_key(step.name)}_finished_at"] = f"{step.finished_at:.3f}"
    for name, trace_id in outcome.trace_ids:
        lines[f"step_{step_key(name)}_trace_id"] = trace_id
    for spec in outcome.specs:
        said = "not_judged" if spec.passed and spec.said else "passed" if spec.passed else "failed"
        lines[f"spec_{step_key(spec.name)}"] = said
    if outcome.specs_seconds is not None:
        lines["specs_seconds"] = f"{outcome.specs_seconds:.4f}"
    lines.update(
        {
            "failed_step": outcome.failure.step if outcome.failure else "",
            "failure_class": outcome.failure.failure_class if outcome.failure else "",
            "chat_image_bytes": value(outcome.chat_image_bytes),
            "web_image_bytes": value(outcome.web_image_bytes),
            "docker_storage_driver": value(outcome.storage_driver),
            "budget_max_duration_seconds": f"{outcome.budgets.max_duration_seconds:g}",
            "budget_max_chat_image_bytes": str(outcome.budgets.max_chat_image_bytes),
            "budget_max_web_image_bytes": str(outcome.budgets.max_web_image_bytes),
            "budgets_exceeded": ",".join(v.name for v in outcome.exceeded),
        }
    )
    return [f"{k}={v}" for k, v in lines.items()]


def write_metrics(outcome: Outcome, path: Path, mask: Callable[[str], str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mask("\n".join(metrics_lines(outcome)) + "\n"), encoding="utf-8")


def junit_tree(outcome: Outcome, mask: Callable[[str], str]) -> ET.ElementTree[ET.Element]:
    """One testcase per planned step; steps not reached are skipped."""
    suite_name = f"smoke.{outcome.profile}"
    ran = {s.name: s for s in outcome.steps}
    names = list(outcome.planned_steps) + [
        s.name for s in outcome.steps if s.name not in outcome.planned_steps
    ]
    failures = sum(1 for s in outcome.steps if not s.passed)
    skipped = sum(1 for n in names if n not in ran)
    budget_cases = [v for v in outcome.verdicts]
    root = ET.Element("testsuites", name="contoso-smoke")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(len(names) + len(budget_cases)),
        failures=str(failures + len(outcome.exceeded)),
        errors="0",
        skipped=str(skipped),
        time=f"{outcome.duration:.3f}",
        timestamp=outcome.started_at,
    )
    for name in names:
        step = ran.get(name)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=suite_name,
            name=name,
            time=f"{step.seconds:.3f}" if step else "0",
        )
        if step is None:
            ET.SubElement(case, "skipped", message="not reached")
        elif not step.passed:
            failure = step.failure
            kind = failure.failure_class if failure else (outcome.stopped_by or "error")
            blamed = f"\n{failure.blame}" if failure and failure.blame else ""
            text = f"{failure}{blamed}\nhint: {failure.hint}" if failure else kind
            message = f"{kind}; {failure.blame}" if failure and failure.blame else kind
            node = ET.SubElement(case, "failure", type=kind, message=mask(message))
            node.text = mask(text)
    for verdict in budget_cases:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{suite_name}.budgets",
            name=f"{verdict.name} budget",
            time="0",
        )
        if not verdict.ok:
            node = ET.SubElement(
                case, "failure", type="budget exceeded", message=verdict.describe()
            )
            node.text = verdict.describe()
    if outcome.specs:
        _spec_suite(root, outcome, mask)
    ET.indent(root)
    return ET.ElementTree(root)


def _spec_suite(root: ET.Element, outcome: Outcome, mask: Callable[[str], str]) -> None:
    """One testcase per trace spec, in a suite of their own."""
    name = f"smoke.{outcome.profile}.specs"
    broken = [spec for spec in outcome.specs if not spec.passed]
    unjudged = [spec for spec in outcome.specs if spec.passed and spec.said]
    suite = ET.SubElement(
        root,
        "testsuite",
        name=name,
        tests=str(len(outcome.specs)),
        failures=str(len(broken)),
        errors="0",
        skipped=str(len(unjudged)),
        time="0",
    )
    for spec in outcome.specs:
        case = ET.SubElement(suite, "testcase", classname=name, name=mask(spec.name), time="0")
        if spec.passed and spec.said:  # nothing to judge it on
            ET.SubElement(case, "skipped", message=mask(spec.said))
        elif not spec.passed:
            node = ET.SubElement(case, "failure", type="trace spec failed", message=mask(spec.said))
            node.text = mask(spec.said)


def write_junit(outcome: Outcome, path: Path, mask: Callable[[str], str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(outcome, mask).write(path, encoding="utf-8", xml_declaration=True)


def step_summary_markdown(outcome: Outcome) -> str:
    mark = {True: "✅", False: "❌"}
    lines = [
        f"### Integration smoke ({outcome.profile}): {outcome.result}",
        "",
        "| step | result | seconds |",
        "| --- | --- | ---: |",
    ]
    lines += [f"| {s.name} | {mark[s.passed]} | {s.seconds:.2f} |" for s in outcome.steps]
    lines += ["", "| budget | measured | limit | ok |", "| --- | ---: | ---: | --- |"]
    for v in outcome.verdicts:
        measured = f"{v.measured:.1f} s" if v.unit == "s" else format_size(int(v.measured))
        limit = f"{v.limit:g} s" if v.unit == "s" else format_size(int(v.limit))
        lines.append(f"| {v.name} | {measured} | {limit} | {mark[v.ok]} |")
    if outcome.failure:
        lines += [
            "",
            quoted(
                f"**{outcome.failure.step}** failed ({outcome.failure.failure_class}): "
                f"{outcome.failure}"
            ),
            "",
            *([quoted(f"`{outcome.blame}`"), ""] if outcome.blame else []),
            f"Hint: {outcome.failure.hint}",
        ]
    if outcome.timed_out and outcome.slowest:
        lines += ["", f"`{outcome.slowest}`"]
    return "\n".join(lines) + "\n"


def _escape_annotation(text: str) -> str:
    # Workflow commands need %, CR and LF escaped in their data.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def publish_to_github(
    outcome: Outcome, mask: Callable[[str], str], env: Mapping[str, str] | None = None
) -> str | None:
    """Append the step summary; return an ``::error`` line to print, if any."""
    env = os.environ if env is None else env
    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as summary:
            summary.write(mask(step_summary_markdown(outcome)))
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    if outcome.failure:
        title = f"smoke: {outcome.failure.step}"
        blamed = f"; {outcome.blame}" if outcome.blame else ""
        message = (
            f"{outcome.failure.failure_class}: {outcome.failure}{blamed} "
            f"(hint: {outcome.failure.hint})"
        )
    elif outcome.exceeded:
        title = "smoke: budget exceeded"
        message = "; ".join(v.describe() for v in outcome.exceeded)
        if outcome.slowest:
            message += f"; {outcome.slowest}"
    else:
        return None
    return f"::error title={_escape_annotation(title)}::{_escape_annotation(mask(message))}"


def mask_json_file(path: Path, masker: Masker) -> None:
    """Mask a JSON file another tool wrote (Schemathesis's HAR record): each string
    decoded, masked, and the whole encoded again. One that does not parse is masked
    as text."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        path.write_text(masker(text), encoding="utf-8")
        return
    path.write_text(json.dumps(_masked_json(data, masker), indent=1), encoding="utf-8")


def _masked_json(data: Any, masker: Masker) -> Any:
    if isinstance(data, str):
        return masker(data)
    if isinstance(data, list):
        return [_masked_json(item, masker) for item in data]
    if isinstance(data, dict):
        return {masker(str(k)): _masked_json(v, masker) for k, v in data.items()}
    return data


def mask_xml_file(path: Path, masker: Masker) -> None:
    """Mask an XML file another tool wrote (Schemathesis's JUnit report): every text,
    tail and attribute value, then serialised again."""
    tree = ET.parse(path)
    for node in tree.iter():
        node.text = masker(node.text) if node.text else node.text
        node.tail = masker(node.tail) if node.tail else node.tail
        for key, value in node.attrib.items():
            node.attrib[key] = masker(value)
    tree.write(path, encoding="utf-8", xml_declaration=True)
