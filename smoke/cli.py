"""The command line: ``main(argv) -> int`` parses, dispatches, and maps every
outcome to an exit status, here and nowhere else:
0 passed, 1 a check failed (or a docker call failed unexpectedly), 2 usage or
environment error, 3 budget exceeded, 129 SIGHUP, 130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from python_on_whales.exceptions import DockerException

from .commands import build_images, teardown_stack, write_stack_logs
from .console import Console
from .errors import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    CheckFailed,
    EnvironmentProblem,
    Interrupted,
    SmokeError,
    UsageError,
)
from .fuzz import fuzz
from .options import (
    BuildOptions,
    FuzzOptions,
    LogsOptions,
    Options,
    RunOptions,
    check_files_exist,
    parse,
)
from .run import run_smoke


def _dispatch(options: Options, console: Console) -> None:
    if isinstance(options, RunOptions | FuzzOptions):
        if options.uses_compose:
            check_files_exist(options.target)
        if isinstance(options, RunOptions):
            run_smoke(options, console=console)
        else:
            fuzz(options, console=console)
        return
    check_files_exist(options.target)
    if isinstance(options, BuildOptions):
        build_images(options, console=console)
    elif isinstance(options, LogsOptions):
        write_stack_logs(options, console=console)
    else:
        teardown_stack(options, console=console)


# Global flags of `docker` / `docker compose` that take a value, to find the verb.
_VALUE_FLAGS = frozenset(
    {
        "--file",
        "-f",
        "--project-name",
        "-p",
        "--env-file",
        "--profile",
        "--project-directory",
        "--context",
        "-c",
        "--host",
        "-H",
        "--config",
    }
)


def _docker_verb(command: Sequence[str]) -> str:
    """`docker compose --file a.yml down -v` -> `docker compose down`."""
    words = ["docker"]
    args = iter(command[1:])
    for arg in args:
        if arg in _VALUE_FLAGS:
            next(args, None)
        elif not arg.startswith("-"):
            words.append(arg)
            if arg != "compose":
                break
    return " ".join(words)


def _error(message: str) -> None:
    print(f"smoke: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    console = Console()
    try:
        options = parse(sys.argv[1:] if argv is None else argv, env=os.environ)
        _dispatch(options, console)
    except SystemExit as exc:  # argparse's --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except UsageError as exc:
        _error(str(exc))
        return exc.exit_code
    except EnvironmentProblem as exc:
        _error(f"{exc}; {exc.hint}")
        return exc.exit_code
    except CheckFailed as exc:
        return exc.exit_code  # already explained step by step on the console
    except SmokeError as exc:
        _error(str(exc))
        return exc.exit_code
    except Interrupted as exc:
        _error(f"interrupted by {exc.signal_name}; the stack was torn down unless kept")
        return exc.exit_code
    except DockerException as exc:  # a docker call no step expected to fail
        detail = (exc.stderr or "").strip().splitlines()
        _error(
            f"`{_docker_verb(exc.docker_command)}` exited {exc.return_code}"
            + (f": {detail[-1]}" if detail else "")
        )
        return EXIT_CHECK_FAILED
    except KeyboardInterrupt:  # before the run installed its own handlers
        _error("interrupted")
        return 130
    return EXIT_OK
