"""`--help` of every command, word for word: it is the CLI's manual, so a changed
default, flag or env var shows up here as a diff to review.

After an intended change, refresh the files with
`SMOKE_UPDATE_HELP=1 nox -s tests -- tests/unit/test_help.py` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smoke.options import build_parser

HELP = Path(__file__).parent / "help"
COMMANDS = ("run", "fuzz", "build", "logs", "teardown")


def help_text(command: str | None, env: dict[str, str]) -> str:
    parser = build_parser(env)
    if command is None:
        return parser.format_help()
    subcommands = next(a for a in parser._actions if a.dest == "command")
    return subcommands.choices[command].format_help()  # type: ignore[index,union-attr]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_is_the_documented_text(command: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    text = help_text(command, {})
    golden = HELP / f"{command or 'smoke'}.txt"
    if os.environ.get("SMOKE_UPDATE_HELP") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_help_under_nox_shows_the_session_to_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    text = help_text("run", {"NOX_CURRENT_SESSION": "smoke_lite"})
    assert text.startswith("usage: nox -s smoke_lite -- [-h] [--project NAME]")
    assert help_text("run", {}).startswith("usage: python -m smoke run [-h] [--project NAME]")


def test_default_project_in_help_follows_compose_project_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    parser = build_parser({"COMPOSE_PROJECT_NAME": "mine"})
    assert parser.parse_args(["teardown"]).project == "mine"
