"""The options of each command as frozen dataclasses, read from the command line
(``smoke.parser``) with the runbook's env vars as fallbacks.

Every value is validated here, so the rest of the package never sees raw strings.
Errors become ``UsageError``.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from smoke.errors import UsageError
from smoke.outcome import Budgets
from smoke.parser import (
    DEFAULT_COMPOSE_FILE,
    DEFAULT_SCREENSHOT_NAME,
    build_parser,
    session_profile,
)
from smoke.stack.target import Target
from smoke.trace.specs import BUILT_IN, Spec, SpecError
from smoke.trace.specs import parse as parse_spec
from smoke.values import parse_size

Profile = Literal["lite", "full"]
#: When the stack stays up after a run: never, always (--keep-stack), or only when
#: the run failed (--keep-on-failure), for a look at what broke.
Keep = Literal["never", "always", "on-failure"]
#: How long a fuzzing run on another host is taken to be alive (see smoke.stack.claim).
FUZZ_MAX_RUN_SECONDS = 3600.0
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class StackSettings:
    """How a command that starts a stack treats it: what the lifecycle reads, the
    same for `run` and `fuzz`."""

    target: Target
    log_file: Path
    timeout: float
    build: bool = True
    #: When the stack stays up after the run.
    keep: Keep = "never"
    #: chat from the local embedding stack's image.
    install_local_stack: bool = False
    #: Start a reaper that removes the stack if this process dies without its teardown.
    reaper: bool = True
    #: Requests carry a trace context and spans are collected (--no-trace, SMOKE_TRACE=0).
    trace: bool = True
    #: Check the running stack as it is (--attach): nothing started or removed.
    attach: bool = False
    #: False: the services are at given URLs (--web-url/--chat-url); nothing starts.
    uses_compose: bool = True
    #: How long the run may take: another host's claim is live that long.
    max_run_seconds: float = FUZZ_MAX_RUN_SECONDS


@dataclass(frozen=True)
class RunOptions:
    stack: StackSettings
    profile: Profile
    web_url: str | None = None
    chat_url: str | None = None
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
    #: What the user set that this run does not use, said once at its start.
    notes: tuple[str, ...] = ()
    #: The trace specs the run's spans are judged by (docs/specs.md).
    specs: tuple[Spec, ...] = ()
    #: Why no spec is judged, when the user turned them off (--no-specs, --no-trace).
    specs_off: str | None = None

    @property
    def screenshot_path(self) -> Path:
        return self.screenshot or self.stack.log_file.with_name(DEFAULT_SCREENSHOT_NAME)


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
    #: db and chat on the minimal image, untraced (Schemathesis makes the requests),
    #: always removed.
    stack: StackSettings
    chat_url: str | None
    max_examples: int
    junit_xml: Path | None
    seed: int | None = None


Options = RunOptions | BuildOptions | LogsOptions | TeardownOptions | FuzzOptions


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


def parse(
    argv: Sequence[str], *, env: Mapping[str, str], pyproject: Path = Path("pyproject.toml")
) -> Options:
    parser = build_parser(env, profile=session_profile(argv))
    args, unknown = parser.parse_known_args(list(argv))
    if unknown:
        # Name the subcommand's usage (the nox form under nox), not the top level's.
        raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (see {args.prog} --help)")
    target = Target(
        project=args.project,
        compose_files=tuple(args.compose_file or default_compose_files(env)),
        secret_names=_secret_names(args.secret or (), env),
        profiles=tuple(args.compose_profile or _listed(env, "COMPOSE_PROFILES")),
        env_files=tuple(args.env_file or map(Path, _listed(env, "COMPOSE_ENV_FILES"))),
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
            StackSettings(
                target,
                args.log_file,
                args.timeout,
                build=not args.no_build,
                reaper=_reaper(args, env),
                trace=False,
                uses_compose=args.chat_url is None,
            ),
            chat_url=args.chat_url,
            max_examples=args.max_examples,
            junit_xml=args.junit_xml,
            seed=args.seed,
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
    trace = env_flag(env, "SMOKE_TRACE", default=True) and not args.no_trace
    specs_off = "--no-specs" if args.no_specs else None if trace else "tracing is off"
    keep = _keep(args, env)
    budgets = _budgets(args, pyproject)
    stack = StackSettings(
        target,
        args.log_file,
        args.timeout,
        build=not args.no_build,
        keep=keep,
        install_local_stack=install_local,
        reaper=_reaper(args, env) and not args.attach,
        trace=trace,
        attach=args.attach,
        uses_compose=args.web_url is None,
        max_run_seconds=budgets.max_duration_seconds,
    )
    return RunOptions(
        stack,
        profile=args.profile,
        web_url=args.web_url,
        chat_url=args.chat_url,
        metrics_file=args.metrics_file,
        junit_xml=args.junit_xml,
        budgets=budgets,
        enforce_budgets=args.enforce_budgets,
        browser=not args.no_browser,
        screenshot=args.screenshot,
        strict_contract=args.strict_contract,
        notes=tuple(notes),
        specs=() if specs_off else load_specs(args.spec or [], env, pyproject),
        specs_off=specs_off,
    )


def _keep(args: argparse.Namespace, env: Mapping[str, str]) -> Keep:
    """--keep-stack, --keep-on-failure, else KEEP_STACK; --attach keeps what it did
    not start. A KEEP_STACK that cannot be read is an error even when a flag wins."""
    from_env = env_keep(env)
    if args.attach:
        if args.web_url is not None:
            raise UsageError(
                "--attach checks the project's compose stack; --web-url/--chat-url check "
                "another one: give one or the other"
            )
        return "always"  # a stack this run did not start is not its to remove
    if args.keep_stack:
        return "always"
    if args.keep_on_failure:
        return "on-failure"
    return from_env


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


def _listed(env: Mapping[str, str], name: str) -> list[str]:
    """A comma-separated compose variable (COMPOSE_PROFILES, COMPOSE_ENV_FILES)."""
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]


def check_files_exist(target: Target) -> None:
    missing = [str(p) for p in target.compose_files if not p.is_file()]
    if missing:
        raise UsageError(
            f"compose file not found: {', '.join(missing)}; "
            "run from the repository root or pass --compose-file PATH"
        )
    missing = [str(p) for p in target.env_files if not p.is_file()]
    if missing:
        raise UsageError(
            f"env file not found: {', '.join(missing)}; pass an existing --env-file PATH "
            "(or fix COMPOSE_ENV_FILES)"
        )


def from_pyproject(path: Path) -> Budgets:
    """Budgets from ``[tool.smoke.budgets]``; the defaults where the file or keys are absent."""
    if not path.is_file():
        return Budgets()
    try:
        table: dict[str, Any] = (
            tomllib.loads(path.read_text("utf-8"))
            .get("tool", {})
            .get("smoke", {})
            .get("budgets", {})
        )
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    known = {"max_duration_seconds", "max_chat_image", "max_web_image"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise UsageError(
            f"unknown key(s) in [tool.smoke.budgets] of {path}: {', '.join(unknown)}; "
            f"expected {', '.join(sorted(known))}"
        )
    defaults = Budgets()
    try:
        return Budgets(
            max_duration_seconds=float(
                table.get("max_duration_seconds", defaults.max_duration_seconds)
            ),
            max_chat_image_bytes=parse_size(
                str(table.get("max_chat_image", defaults.max_chat_image_bytes))
            ),
            max_web_image_bytes=parse_size(
                str(table.get("max_web_image", defaults.max_web_image_bytes))
            ),
        )
    except ValueError as exc:
        raise UsageError(f"[tool.smoke.budgets] in {path}: {exc}") from None


def load_specs(files: Sequence[Path], env: Mapping[str, str], pyproject: Path) -> tuple[Spec, ...]:
    """The built-in spec, then ``[[tool.smoke.spec]]`` of pyproject.toml, then each
    file's ``[[spec]]`` (--spec, then SMOKE_SPECS); any that cannot be read is a usage
    error naming its file, its line or spec, and what is wrong."""
    found = [BUILT_IN]
    if pyproject.is_file():
        table = _toml(pyproject).get("tool", {}).get("smoke", {})
        found += _specs(table.get("spec", []), f"[[tool.smoke.spec]] of {pyproject}")
    listed = [*files, *(Path(p) for p in env.get("SMOKE_SPECS", "").split(os.pathsep) if p)]
    for path in listed:
        if not path.is_file():
            raise UsageError(f"spec file not found: {path}; pass an existing --spec FILE")
        data = _toml(path)
        unknown = sorted(set(data) - {"spec"})
        if unknown:
            raise UsageError(
                f"{path}: unknown table {', '.join(unknown)}; a spec file holds [[spec]] tables"
            )
        found += _specs(data.get("spec", []), str(path))
    return tuple(found)


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:  # its words say the line and column
        raise UsageError(f"{path} is not valid TOML: {exc}") from None


def _specs(tables: Any, source: str) -> list[Spec]:
    if not isinstance(tables, list):
        raise UsageError(f"{source}: specs are an array of tables ([[spec]])")
    try:
        return [parse_spec(table, source=source) for table in tables]
    except SpecError as exc:
        raise UsageError(str(exc)) from None
