"""The command line: one parser per command, its option types and its defaults.

argparse raises instead of exiting, so ``smoke.cli.main`` owns every exit status.
Under nox, each session shows only the options it takes.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from smoke.errors import UsageError
from smoke.values import (
    env_name,
    http_url,
    positive_count,
    positive_seconds,
    project_name,
    size,
)

DEFAULT_PROJECT = "contoso-smoke"
DEFAULT_COMPOSE_FILE = "docker-compose.yml"
DEFAULT_TIMEOUT = 60.0
DEFAULT_LOG_FILE = "e2e-compose.log"
DEFAULT_SCREENSHOT_NAME = "e2e-web.png"
DEFAULT_MAX_EXAMPLES = 40


class _Once(argparse.Action):
    """Refuse a second value: `nox -s smoke_lite -- --profile full` is a contradiction,
    not a quiet switch to the full profile."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, f"_{self.dest}_seen", False):
            raise argparse.ArgumentError(
                self, "given twice; smoke and smoke_lite choose it already"
            )
        setattr(namespace, f"_{self.dest}_seen", True)
        setattr(namespace, self.dest, values)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit status."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _target_parent(env: Mapping[str, str]) -> _Parser:
    parent = _Parser(add_help=False)
    default_project = env.get("COMPOSE_PROJECT_NAME") or DEFAULT_PROJECT
    parent.add_argument(
        "--project",
        type=project_name,
        default=default_project,
        metavar="NAME",
        help=f"compose project name (default: $COMPOSE_PROJECT_NAME or {DEFAULT_PROJECT})",
    )
    parent.add_argument(
        "--compose-file",
        action="append",
        type=Path,
        metavar="PATH",
        help="compose file; repeat to add overrides "
        f"(default: $COMPOSE_FILE as compose reads it, else {DEFAULT_COMPOSE_FILE})",
    )
    parent.add_argument(
        "--compose-profile",
        action="append",
        metavar="NAME",
        help="enable a compose profile; repeatable (default: $COMPOSE_PROFILES)",
    )
    parent.add_argument(
        "--env-file",
        action="append",
        type=Path,
        metavar="PATH",
        help="compose env file, replacing the default .env as in compose; repeatable "
        "(default: $COMPOSE_ENV_FILES)",
    )
    parent.add_argument(
        "--secret",
        action="append",
        type=env_name,
        metavar="NAME",
        help="also mask the value of env variable NAME in every output; repeatable",
    )
    return parent


def _local_stack_flag(parser: argparse.ArgumentParser, *, shown: bool = True) -> None:
    parser.add_argument(
        "--install-local-stack",
        action="store_true",
        help="build chat with the local embedding stack (env: CHAT_INSTALL_LOCAL_STACK=1)"
        if shown
        else argparse.SUPPRESS,
    )


def _started_stack_parent() -> _Parser:
    """What run and fuzz share: how the stack is started, waited for and left."""
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--no-build", action="store_true", help="use the existing images instead of building"
    )
    parent.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"limit for each wait (default: {DEFAULT_TIMEOUT:g})",
    )
    parent.add_argument(
        "--log-file",
        type=Path,
        default=Path(DEFAULT_LOG_FILE),
        metavar="PATH",
        help=f"where the logs go before teardown (default: {DEFAULT_LOG_FILE})",
    )
    parent.add_argument(
        "--no-reaper",
        action="store_true",
        help="do not start the reaper that removes the stack if this process dies "
        "(env: SMOKE_REAPER=0)",
    )
    return parent


def session_profile(argv: Sequence[str]) -> str | None:
    """The profile a session chose for its user (``run --profile P`` first, as the
    noxfile passes it), so its help leaves out what that session refuses."""
    if len(argv) >= 3 and argv[0] == "run" and argv[1] == "--profile":
        return argv[2]
    return None


def build_parser(env: Mapping[str, str], *, profile: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command. ``profile``: chosen already by the session, so the
    help hides ``--profile`` and, for lite, the full profile's options (still parsed,
    so that giving one is a usage error that says why)."""
    # Under nox, usage lines show the command the user actually types.
    session = env.get("NOX_CURRENT_SESSION")

    def shown(text: str, *, full_only: bool = False) -> str:
        hidden = profile == "lite" if full_only else profile is not None
        return argparse.SUPPRESS if hidden else text

    def prog(command: str) -> str:
        return f"nox -s {session} --" if session else f"python -m smoke {command}"

    parser = _Parser(
        prog="python -m smoke", description="Integration smoke for the web -> chat -> db stack."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parent = _target_parent(env)
    started = _started_stack_parent()

    run = commands.add_parser(
        "run",
        prog=prog("run"),
        parents=[parent, started],
        help="run the smoke",
        description="Run the smoke end to end.",
    )
    run.add_argument(
        "--profile",
        choices=("lite", "full"),
        default="full",
        action=_Once,
        help=shown(
            "lite: the runbook's six steps; full: plus page, persistence "
            "and stack checks (default: full)"
        ),
    )
    keep = run.add_mutually_exclusive_group()
    keep.add_argument(
        "--keep-stack",
        action="store_true",
        help="leave the stack running afterwards (env: KEEP_STACK=1)",
    )
    keep.add_argument(
        "--keep-on-failure",
        action="store_true",
        help="remove the stack if the run passes, keep it if it fails (env: KEEP_STACK=on-failure)",
    )
    _local_stack_flag(run, shown=profile != "lite")
    run.add_argument(
        "--web-url",
        type=http_url,
        metavar="URL",
        help="check a running stack at this web URL instead of starting one",
    )
    run.add_argument(
        "--chat-url",
        type=http_url,
        metavar="URL",
        help="chat URL of the running stack (with --web-url)",
    )
    run.add_argument(
        "--metrics-file",
        type=Path,
        metavar="PATH",
        help="write key=value metrics (durations, image sizes, budgets), e.g. e2e-metrics.txt",
    )
    run.add_argument(
        "--junit-xml", type=Path, metavar="PATH", help="write a JUnit report, one testcase per step"
    )
    run.add_argument(
        "--enforce-budgets",
        action="store_true",
        help="fail (exit 3) when a budget is exceeded",
    )
    run.add_argument(
        "--max-duration",
        type=positive_seconds,
        metavar="SECONDS",
        help="duration budget (default: [tool.smoke.budgets] or 420)",
    )
    run.add_argument(
        "--max-chat-image",
        type=size,
        metavar="SIZE",
        help="chat image budget, decimal units, e.g. 2.5GB (default: 2.5GB)",
    )
    run.add_argument(
        "--max-web-image",
        type=size,
        metavar="SIZE",
        help="web image budget, decimal units, e.g. 1.5GB (default: 1.5GB)",
    )
    run.add_argument(
        "--no-browser",
        action="store_true",
        help=shown(
            "full profile: drop the web page (browser) step (the summary says so)",
            full_only=True,
        ),
    )
    run.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help=shown(
            f"where a failing browser step saves the page "
            f"(default: {DEFAULT_SCREENSHOT_NAME} next to the log file)",
            full_only=True,
        ),
    )
    run.add_argument(
        "--strict-contract",
        action="store_true",
        help="fail the response contract step when chat publishes no OpenAPI schema",
    )
    run.add_argument(
        "--no-trace",
        action="store_true",
        help="send no trace context and collect no spans (env: SMOKE_TRACE=0)",
    )
    run.add_argument(
        "--spec",
        action="append",
        type=Path,
        metavar="FILE",
        help="also judge the run's spans by the trace specs in FILE, a TOML file of "
        "[[spec]] tables; repeatable (env: SMOKE_SPECS, paths separated as in PATH)",
    )
    run.add_argument(
        "--no-specs",
        action="store_true",
        help="judge no trace spec: neither the built-in one, pyproject.toml's, nor --spec's",
    )
    run.add_argument(
        "--attach",
        action="store_true",
        help="check the project's running stack as it is: start, restart and remove "
        "nothing; a stopped service fails at once",
    )

    fuzz = commands.add_parser(
        "fuzz",
        prog=prog("fuzz"),
        parents=[parent, started],
        help="fuzz chat's API with Schemathesis",
        description="Start the stack (or use --chat-url), fuzz chat against its own "
        "OpenAPI schema with Schemathesis, tear the stack down.",
    )
    fuzz.add_argument(
        "--chat-url",
        type=http_url,
        metavar="URL",
        help="fuzz a running chat at this URL instead of starting a stack",
    )
    fuzz.add_argument(
        "--max-examples",
        type=positive_count,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help=f"examples per API operation and phase (default: {DEFAULT_MAX_EXAMPLES})",
    )
    fuzz.add_argument("--seed", type=int, metavar="N", help="Hypothesis seed, to repeat a run")
    fuzz.add_argument(
        "--junit-xml", type=Path, metavar="PATH", help="write Schemathesis's JUnit report"
    )

    build = commands.add_parser(
        "build",
        prog=prog("build"),
        parents=[parent],
        help="build the project's images",
        description="Build or rebuild the images of every service the compose file builds, "
        "named <project>-<service>, and remove the ones they replace.",
    )
    _local_stack_flag(build)

    logs = commands.add_parser(
        "logs",
        prog=prog("logs"),
        parents=[parent],
        help="write the kept stack's logs",
        description="Write the compose logs of a kept stack, with timestamps, to a file.",
    )
    logs.add_argument(
        "--output",
        type=Path,
        default=Path(DEFAULT_LOG_FILE),
        metavar="PATH",
        help=f"log file (default: {DEFAULT_LOG_FILE})",
    )

    teardown = commands.add_parser(
        "teardown",
        prog=prog("teardown"),
        parents=[parent],
        help="remove the stack",
        description="Remove the stack's containers, networks, volumes and orphans.",
    )
    teardown.add_argument(
        "--images",
        action="store_true",
        help="also remove the images this project built (<project>-<service>)",
    )
    for sub in commands.choices.values():
        sub.set_defaults(prog=sub.prog)
    return parser
