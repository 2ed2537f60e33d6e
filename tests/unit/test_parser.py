"""`--help` of every command, word for word: it is the CLI's manual, so a changed
default, flag or env var shows up here as a diff to review.

After an intended change, refresh the files with
`SMOKE_UPDATE_HELP=1 nox -s tests -- tests/unit/test_help.py` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smoke.parser import build_parser

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


@pytest.mark.parametrize("command", COMMANDS)
def test_help_under_nox_shows_the_session_to_type(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    text = help_text(command, {"NOX_CURRENT_SESSION": f"s-{command}"})
    assert text.startswith(f"usage: nox -s s-{command} -- [-h] [--project NAME]")
    assert help_text(command, {}).startswith(
        f"usage: python -m smoke {command} [-h] [--project NAME]"
    )


def test_default_project_in_help_follows_compose_project_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    parser = build_parser({"COMPOSE_PROJECT_NAME": "mine"})
    assert parser.parse_args(["teardown"]).project == "mine"


@pytest.mark.parametrize(
    ("profile", "hidden", "kept"),
    [
        ("lite", ["--profile", "--install-local-stack", "--no-browser", "--screenshot"], []),
        ("full", ["--profile"], ["--install-local-stack", "--no-browser", "--screenshot"]),
    ],
)
def test_each_smoke_session_shows_only_the_options_it_takes(
    profile: str, hidden: list[str], kept: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`nox -s smoke_lite -- --help` as the session runs it: `run --profile lite --help`."""
    from smoke.options import parse

    with pytest.raises(SystemExit):
        parse(["run", "--profile", profile, "--help"], env={"NOX_CURRENT_SESSION": "s"})
    text = capsys.readouterr().out
    assert text.startswith("usage: nox -s s --")
    for option in hidden:
        assert option not in text
    for option in [*kept, "--keep-stack", "--no-build", "--timeout", "--web-url"]:
        assert option in text


def test_a_hidden_option_given_to_the_lite_session_is_still_refused_saying_why() -> None:
    from smoke.errors import UsageError
    from smoke.options import parse

    with pytest.raises(UsageError, match="does not apply to the lite profile"):
        parse(["run", "--profile", "lite", "--install-local-stack"], env={})
