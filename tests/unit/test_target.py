"""Which stack a command acts on: one value, the same wherever it is passed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from smoke.stack.target import Target


def test_a_target_names_its_project_and_files_and_nothing_else_by_default() -> None:
    target = Target("p", (Path("a.yml"),))
    assert (target.secret_names, target.profiles, target.env_files) == ((), (), ())


def test_a_target_is_a_value_no_command_can_change() -> None:
    target = Target("p", (Path("a.yml"),), ("TOKEN",), ("extra",), (Path(".env"),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.project = "q"  # type: ignore[misc]
    assert target == Target("p", (Path("a.yml"),), ("TOKEN",), ("extra",), (Path(".env"),))
    assert (
        len({target, Target("p", (Path("a.yml"),), ("TOKEN",), ("extra",), (Path(".env"),))}) == 1
    )
