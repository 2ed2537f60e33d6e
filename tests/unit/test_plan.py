"""The steps as data: which runs have which steps, and which are dropped and why."""

from __future__ import annotations

from typing import Any

import pytest

from smoke.plan import STEPS, dropped_steps, planned_steps
from tests.conftest import RUNBOOK_CHECKS
from tests.unit.fakes import run_options as options

RUNBOOK = RUNBOOK_CHECKS


URLS = {"web_url": "http://w", "chat_url": "http://c"}


@pytest.mark.parametrize(
    ("overrides", "steps"),
    [
        ({}, ("compose up", *RUNBOOK, "teardown")),
        ({"keep": "always"}, ("compose up", *RUNBOOK)),
        ({"keep": "on-failure"}, ("compose up", *RUNBOOK, "teardown")),
        (URLS, RUNBOOK),
        (
            {"profile": "full"},
            (
                "compose up",
                *RUNBOOK,
                "web page",
                "web page (browser)",
                "conversation persisted",
                "teardown",
            ),
        ),
        (
            {"profile": "full", "browser": False},
            ("compose up", *RUNBOOK, "web page", "conversation persisted", "teardown"),
        ),
        (
            {"profile": "full", "install_local_stack": True},
            (
                "compose up",
                *RUNBOOK,
                "web page",
                "web page (browser)",
                "conversation persisted",
                "chat local stack",
                "semantic retrieval",
                "teardown",
            ),
        ),
        (
            {"profile": "lite", "install_local_stack": True},  # lite never checks the stack
            ("compose up", *RUNBOOK, "teardown"),
        ),
        (
            {"profile": "full", **URLS, "browser": False},
            (*RUNBOOK, "web page", "conversation persisted"),
        ),
    ],
)
def test_planned_steps(overrides: dict[str, Any], steps: tuple[str, ...]) -> None:
    assert planned_steps(options(**overrides)) == steps


def test_only_the_browser_step_is_ever_dropped_and_it_says_why() -> None:
    assert dropped_steps(options(profile="full", browser=False)) == [
        ("web page (browser)", "--no-browser")
    ]
    assert dropped_steps(options(profile="full")) == []
    assert dropped_steps(options(profile="lite", browser=False)) == []  # lite never has it


def test_step_names_are_unique_and_only_the_browser_needs_preparing() -> None:
    names = [step.name for step in STEPS]
    assert len(names) == len(set(names))
    assert [step.name for step in STEPS if step.prepare is not None] == ["web page (browser)"]
