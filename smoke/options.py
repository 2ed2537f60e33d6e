"""Command-line options of the smoke CLI, with the runbook's env vars as fallbacks.

Parsing only: every value is validated here and turned into frozen dataclasses, so
the rest of the package never sees raw strings. Errors become ``UsageError``.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NoReturn

import httpx

from smoke.report.budgets import Budgets, from_pyproject, parse_size
from smoke.report.errors import UsageError

DEFAULT_PROJECT = "contoso-smoke"
DEFAULT_COMPOSE_FILE = "docker-compose.yml"
DEFAULT_TIMEOUT = 60.0
DEFAULT_LOG_FILE = "e2e-compose.log"
MAX_TIMEOUT = 3600.0

Profile = Literal["lite", "full"]
#: When the stack stays up after a run: never, always (--keep-stack), or only when
#: the run failed (--keep-on-failure), for a look at what broke.
Keep = Literal["never", "always", "on-failure"]
DEFAULT_SCREENSHOT_NAME = "e2e-web.png"
DEFAULT_MAX_EXAMPLES = 40
#: How long a fuzzing run on another host is taken to be alive (see smoke.stack.claim).
FUZZ_MAX_RUN_SECONDS = 3600.0
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # compose's own rule
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Target:
    """Which compose stack a command acts on."""

    project: str
    compose_files: tuple[Path, ...]
    #: Env variables whose values are secrets too (--secret), besides the model's own.
    secret_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOptions:
    target: Target
    profile: Profile
    keep: Keep
    install_local_stack: bool
    build: bool
    timeout: float
    log_file: Path
    web_url: str | None
    chat_url: str | None
    metrics_file: Path | None = None
    junit_xml: Path | None = None
    budgets: Budgets = field(default_factory=Budgets)
    enforce_budgets: bool = False
    #: The full profile asks web's page in a real browser unless --no-browser.
    browser: bool = True
    #: Where the browser step saves the page when it fails; None: next to the log file.
    screenshot: Path | None = None
    #: Fail the contract step when chat publishes no schema, instead of falling back.
    strict_contract: bool = False
    #: Start a reaper that removes the stack if this process dies without its teardown.
    reaper: bool = True
    #: What the user set that this run does not use, said once at its start.
    notes: tuple[str, ...] = ()

    @property
    def uses_compose(self) -> bool:
        return self.web_url is None

    @property
    def screenshot_path(self) -> Path:
        return self.screenshot or self.log_file.with_name(DEFAULT_SCREENSHOT_NAME)

    @property
    def max_run_seconds(self) -> float:
        return self.budgets.max_duration_seconds


@dataclass(frozen=True)
class BuildOptions:
    target: Target
    install_local_stack: bool


@dataclass(frozen=True)
class LogsOptions:
    target: Target
    output: Path


@dataclass(frozen=True)
class TeardownOptions:
    target: Target
    #: Also remove the images this project built (found by compose's project label).
    images: bool = False


@dataclass(frozen=True)
class FuzzOptions:
    target: Target
    build: bool
    timeout: float
    chat_url: str | None
    max_examples: int
    junit_xml: Path | None
    log_file: Path
    seed: int | None = None
    reaper: bool = True

    @property
    def uses_compose(self) -> bool:
        return self.chat_url is None

    # Fuzzing starts db and chat on the minimal image and always removes them.
    @property
    def keep(self) -> Keep:
        return "never"

    @property
    def install_local_stack(self) -> bool:
        return False

    @property
    def max_run_seconds(self) -> float:
        return FUZZ_MAX_RUN_SECONDS


Options = RunOptions | BuildOptions | LogsOptions | TeardownOptions | FuzzOptions


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


def env_flag(env: Mapping[str, str], name: str, *, default: bool = False) -> bool:
    if name not in env:
        return default
    raw = env[name].strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise UsageError(f"{name} must be 1 or 0, got {env[name]!r}; unset it or set it to 1")


def env_keep(env: Mapping[str, str]) -> Keep:
    """KEEP_STACK: 1/0 as in the runbook, or on-failure."""
    raw = env.get("KEEP_STACK", "").strip().lower()
    if raw == "on-failure":
        return "on-failure"
    if raw in _TRUE:
        return "always"
    if raw in _FALSE:
        return "never"
    raise UsageError(
        f"KEEP_STACK must be 1, 0 or on-failure, got {env['KEEP_STACK']!r}; unset it or set it to 1"
    )


def _positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 < value <= 10_000:
        raise argparse.ArgumentTypeError(f"{text} is out of range; give 1 to 10000")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range; give seconds in (0, {MAX_TIMEOUT:g}]"
        )
    return value


def _http_url(text: str) -> str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http(s) URL; e.g. http://127.0.0.1:3000"
        )
    return str(url).rstrip("/")


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _project_name(text: str) -> str:
    if not _PROJECT_NAME.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a compose project name "
            "(lower-case letters, digits, '-' and '_', starting with a letter or digit)"
        )
    return text


def _target_parent(env: Mapping[str, str]) -> _Parser:
    parent = _Parser(add_help=False)
    default_project = env.get("COMPOSE_PROJECT_NAME") or DEFAULT_PROJECT
    parent.add_argument(
        "--project",
        type=_project_name,
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
        "--secret",
        action="append",
        type=_env_name,
        metavar="NAME",
        help="also mask the value of env variable NAME in every output; repeatable",
    )
    return parent


def _env_name(text: str) -> str:
    if not _ENV_NAME.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an env variable name")
    return text


def _local_stack_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--install-local-stack",
        action="store_true",
        help="build chat with the local embedding stack (env: CHAT_INSTALL_LOCAL_STACK=1)",
    )


def _started_stack_parent() -> _Parser:
    """What run and fuzz share: how the stack is started, waited for and left."""
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--no-build", action="store_true", help="use the existing images instead of building"
    )
    parent.add_argument(
        "--timeout",
        type=_positive_seconds,
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


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    # Under nox, usage lines show the command the user actually types.
    session = env.get("NOX_CURRENT_SESSION")

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
        help="lite: the runbook's six steps; full: plus page, persistence "
        "and stack checks (default: full)",
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
    _local_stack_flag(run)
    run.add_argument(
        "--web-url",
        type=_http_url,
        metavar="URL",
        help="check a running stack at this web URL instead of starting one",
    )
    run.add_argument(
        "--chat-url",
        type=_http_url,
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
        type=_positive_seconds,
        metavar="SECONDS",
        help="duration budget (default: [tool.smoke.budgets] or 420)",
    )
    run.add_argument(
        "--max-chat-image",
        type=_size,
        metavar="SIZE",
        help="chat image budget, decimal units, e.g. 2.5GB (default: 2.5GB)",
    )
    run.add_argument(
        "--max-web-image",
        type=_size,
        metavar="SIZE",
        help="web image budget, decimal units, e.g. 1.5GB (default: 1.5GB)",
    )
    run.add_argument(
        "--no-browser",
        action="store_true",
        help="full profile: drop the web page (browser) step (the summary says so)",
    )
    run.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help=f"where a failing browser step saves the page "
        f"(default: {DEFAULT_SCREENSHOT_NAME} next to the log file)",
    )
    run.add_argument(
        "--strict-contract",
        action="store_true",
        help="fail the response contract step when chat publishes no OpenAPI schema",
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
        type=_http_url,
        metavar="URL",
        help="fuzz a running chat at this URL instead of starting a stack",
    )
    fuzz.add_argument(
        "--max-examples",
        type=_positive_count,
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


def parse(
    argv: Sequence[str], *, env: Mapping[str, str], pyproject: Path = Path("pyproject.toml")
) -> Options:
    parser = build_parser(env)
    args, unknown = parser.parse_known_args(list(argv))
    if unknown:
        # Name the subcommand's usage (the nox form under nox), not the top level's.
        raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (see {args.prog} --help)")
    target = Target(
        project=args.project,
        compose_files=tuple(args.compose_file or default_compose_files(env)),
        secret_names=_secret_names(args.secret or (), env),
    )
    if args.command == "build":
        return BuildOptions(
            target, args.install_local_stack or env_flag(env, "CHAT_INSTALL_LOCAL_STACK")
        )
    if args.command == "logs":
        return LogsOptions(target, args.output)
    if args.command == "teardown":
        return TeardownOptions(target, images=args.images)
    if args.command == "fuzz":
        return FuzzOptions(
            target=target,
            build=not args.no_build,
            timeout=args.timeout,
            chat_url=args.chat_url,
            max_examples=args.max_examples,
            junit_xml=args.junit_xml,
            log_file=args.log_file,
            seed=args.seed,
            reaper=_reaper(args, env),
        )
    return _run_options(args, target, env, pyproject)


def _secret_names(names: Sequence[str], env: Mapping[str, str]) -> tuple[str, ...]:
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise UsageError(
            f"--secret {missing[0]}: no value in the environment to mask; "
            "export it, or leave the option out"
        )
    return tuple(dict.fromkeys(names))


def _reaper(args: argparse.Namespace, env: Mapping[str, str]) -> bool:
    return env_flag(env, "SMOKE_REAPER", default=True) and not args.no_reaper


def _run_options(
    args: argparse.Namespace, target: Target, env: Mapping[str, str], pyproject: Path
) -> RunOptions:
    if (args.web_url is None) != (args.chat_url is None):
        raise UsageError("--web-url and --chat-url go together: give both, or neither")
    install_local = args.install_local_stack
    notes: list[str] = []
    if args.profile == "lite":
        if install_local:
            raise UsageError(
                "--install-local-stack does not apply to the lite profile; use `nox -s smoke`"
            )
        if env_flag(env, "CHAT_INSTALL_LOCAL_STACK"):  # set for a whole CI job, say
            notes.append(
                "CHAT_INSTALL_LOCAL_STACK does not apply to the lite profile: "
                "its chat is the minimal image"
            )
    else:
        install_local = install_local or env_flag(env, "CHAT_INSTALL_LOCAL_STACK")
    keep = env_keep(env)
    if args.keep_stack:
        keep = "always"
    elif args.keep_on_failure:
        keep = "on-failure"
    return RunOptions(
        target=target,
        profile=args.profile,
        keep=keep,
        install_local_stack=install_local,
        build=not args.no_build,
        timeout=args.timeout,
        log_file=args.log_file,
        web_url=args.web_url,
        chat_url=args.chat_url,
        metrics_file=args.metrics_file,
        junit_xml=args.junit_xml,
        budgets=_budgets(args, pyproject),
        enforce_budgets=args.enforce_budgets,
        browser=not args.no_browser,
        screenshot=args.screenshot,
        strict_contract=args.strict_contract,
        reaper=_reaper(args, env),
        notes=tuple(notes),
    )


def _budgets(args: argparse.Namespace, pyproject: Path) -> Budgets:
    configured = from_pyproject(pyproject)
    return Budgets(
        max_duration_seconds=args.max_duration or configured.max_duration_seconds,
        max_chat_image_bytes=args.max_chat_image or configured.max_chat_image_bytes,
        max_web_image_bytes=args.max_web_image or configured.max_web_image_bytes,
    )


def default_compose_files(env: Mapping[str, str]) -> list[Path]:
    """COMPOSE_FILE as compose itself reads it (split on COMPOSE_PATH_SEPARATOR, ':' by
    default), so a user's compose setup holds for the smoke too."""
    separator = env.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    named = [Path(p) for p in env.get("COMPOSE_FILE", "").split(separator) if p]
    return named or [Path(DEFAULT_COMPOSE_FILE)]


def check_files_exist(target: Target) -> None:
    missing = [str(p) for p in target.compose_files if not p.is_file()]
    if missing:
        raise UsageError(
            f"compose file not found: {', '.join(missing)}; "
            "run from the repository root or pass --compose-file PATH"
        )
