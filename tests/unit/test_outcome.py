"""Budgets: decimal sizes, pyproject defaults, flag overrides, verdicts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smoke.errors import UsageError
from smoke.options import RunOptions, from_pyproject, parse
from smoke.outcome import Budgets, evaluate


def test_pyproject_budgets_and_flag_overrides(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.smoke.budgets]\nmax_duration_seconds = 100\nmax_chat_image = "1GB"\n'
    )
    assert from_pyproject(pyproject) == Budgets(100, 1_000_000_000, 1_500_000_000)
    options = parse(
        ["run", "--max-duration", "5", "--max-web-image", "2GB"], env={}, pyproject=pyproject
    )
    assert isinstance(options, RunOptions)
    assert options.budgets == Budgets(5, 1_000_000_000, 2_000_000_000)


def test_repo_pyproject_holds_the_runbook_budgets() -> None:
    assert from_pyproject(Path(__file__).parents[2] / "pyproject.toml") == Budgets(
        420, 2_500_000_000, 1_500_000_000
    )


def test_bad_pyproject_budgets_are_usage_errors(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.smoke.budgets]\nmax_chat_image = "huge"\n')
    with pytest.raises(UsageError, match="'huge' is not a size"):
        from_pyproject(pyproject)
    pyproject.write_text("[tool.smoke.budgets]\nmax_time = 3\n")
    with pytest.raises(UsageError, match="unknown key"):
        from_pyproject(pyproject)


def test_evaluate_names_what_is_over() -> None:
    verdicts = evaluate(Budgets(10, 100, 100), duration=12.5, chat_image=50, web_image=None)
    assert [(v.name, v.ok) for v in verdicts] == [("duration", False), ("chat_image", True)]
    assert verdicts[0].describe() == "duration budget: 12.5s > 10s"


def test_a_pyproject_without_budgets_gives_the_defaults(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    for text in ("", "[tool.other]\nx = 1\n", "[tool.smoke]\nname = 'x'\n"):
        pyproject.write_text(text)
        assert from_pyproject(pyproject) == Budgets()
    pyproject.write_text('[tool.smoke.budgets]\nmax_web_image = "900MB"\n')
    assert from_pyproject(pyproject) == Budgets(420, 2_500_000_000, 900_000_000)
    assert from_pyproject(tmp_path / "absent.toml") == Budgets()


def test_budget_file_errors_name_the_file_and_what_is_allowed(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.smoke.budgets\n")
    with pytest.raises(UsageError, match=rf"^{re.escape(str(pyproject))} is not valid TOML: "):
        from_pyproject(pyproject)
    pyproject.write_text("[tool.smoke.budgets]\nmax_time = 3\nmax_size = 4\n")
    with pytest.raises(UsageError) as caught:
        from_pyproject(pyproject)
    assert str(caught.value) == (
        f"unknown key(s) in [tool.smoke.budgets] of {pyproject}: max_size, max_time; "
        "expected max_chat_image, max_duration_seconds, max_web_image"
    )


def test_image_verdicts_are_named_and_sized_in_decimal_units() -> None:
    budgets = Budgets(10, 100, 2_000_000_000)
    verdicts = evaluate(budgets, duration=1, chat_image=200, web_image=10**9)
    assert [(v.name, v.unit, v.ok) for v in verdicts] == [
        ("duration", "s", True),
        ("chat_image", "bytes", False),
        ("web_image", "bytes", True),
    ]
    assert verdicts[1].describe() == "chat_image budget: 0.0 MB > 0.0 MB"
    assert verdicts[2].describe() == "web_image budget: 1.00 GB > 2.00 GB"
