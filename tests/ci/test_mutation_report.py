"""tools/mutation_report.py: the score per module from mutmut's records, equivalents
left out, and the mutants to judge again."""

from __future__ import annotations

import json
import sys
import types
from collections import defaultdict
from pathlib import Path

import pytest

from tools import mutation_report

VERDICTS = {0: "survived", 1: "killed", 33: "no tests", 36: "timeout", None: "not checked"}


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "mutants" / "smoke"
    (root / "stack").mkdir(parents=True)
    codes = {"a__mutmut_1": 1, "a__mutmut_2": 0, "a__mutmut_3": 0, "a__mutmut_4": 33}
    meta = {"exit_code_by_key": {f"smoke.run.x_{k}": v for k, v in codes.items()}}
    (root / "run.py.meta").write_text(json.dumps(meta))
    teardown = {
        "smoke.stack.teardown.x_b__mutmut_1": 36,
        "smoke.stack.teardown.x_b__mutmut_2": None,
    }
    (root / "stack" / "teardown.py.meta").write_text(json.dumps({"exit_code_by_key": teardown}))
    doc = tmp_path / "mutation.md"
    doc.write_text("- `smoke.run.x_a__mutmut_3`: equivalent, for a reason.\n")
    monkeypatch.setattr(mutation_report, "RECORDS", root)
    monkeypatch.setattr(mutation_report, "TEST_MAP", root.parent / "mutmut-stats.json")
    monkeypatch.setattr(mutation_report, "DOC", doc)
    monkeypatch.setattr(mutation_report, "status", lambda code: VERDICTS[code])
    return root


def test_each_module_is_scored_without_its_equivalents(records: Path) -> None:
    table = mutation_report.scores()
    assert table["run"] == mutation_report.Score(killed=1, survived=1, untested=1, equivalent=1)
    assert table["stack.teardown"] == mutation_report.Score(killed=1, untested=1)
    assert table["run"].ratio == pytest.approx(1 / 3)


def test_the_verdicts_are_counted_in_every_layer(records: Path) -> None:
    assert mutation_report.verdicts() == {
        "killed": 1,
        "survived": 2,
        "no tests": 1,
        "timeout": 1,
        "not checked": 1,
    }


def test_the_mutants_to_judge_again_are_the_survivors_and_the_untested(records: Path) -> None:
    assert mutation_report.survivors() == ["smoke.run.x_a__mutmut_2", "smoke.run.x_a__mutmut_4"]


def test_the_survivors_verdicts_are_cleared_for_the_next_run_and_no_others(records: Path) -> None:
    test_map = records.parent / "mutmut-stats.json"
    test_map.write_text("{}")
    assert mutation_report.reset(mutation_report.survivors()) == 2
    assert not test_map.exists()  # made again: an old test may reach a new function
    codes = json.loads((records / "run.py.meta").read_text())["exit_code_by_key"]
    assert codes == {
        "smoke.run.x_a__mutmut_1": 1,
        "smoke.run.x_a__mutmut_2": None,
        "smoke.run.x_a__mutmut_3": 0,  # equivalent: left as it was
        "smoke.run.x_a__mutmut_4": None,
    }
    assert mutation_report.survivors() == []


def test_a_test_process_ended_by_a_signal_counts_as_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mutant that lets a signal through (a handler not installed) kills the tests'
    process: mutmut reads that as "suspicious", the score as killed."""
    stats = types.ModuleType("mutmut.stats")
    stats.status_by_exit_code = defaultdict(  # type: ignore[attr-defined]
        lambda: "suspicious", {0: "survived", 1: "killed", -11: "segfault", -24: "timeout"}
    )
    monkeypatch.setitem(sys.modules, "mutmut", types.ModuleType("mutmut"))
    monkeypatch.setitem(sys.modules, "mutmut.stats", stats)
    verdicts = [mutation_report.status(code) for code in (-1, -12, -24, 0, 5)]
    assert verdicts == [
        "ended by a signal",
        "ended by a signal",
        "timeout",
        "survived",
        "suspicious",
    ]
    assert "ended by a signal" in mutation_report.KILLED
