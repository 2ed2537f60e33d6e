"""The command line: ``main(argv) -> int`` parses, dispatches, and maps every
outcome to an exit status, here and nowhere else:
0 passed, 1 a check failed (or a docker call failed unexpectedly), 2 usage or
environment error, 3 budget exceeded, 129 SIGHUP, 130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from smoke.commands import build_images, teardown_stack, write_stack_logs
from smoke.errors import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    CheckFailed,
    EngineCallError,
    EnvironmentProblem,
    Interrupted,
    SmokeError,
    UsageError,
)
from smoke.fuzz import fuzz
from smoke.masking import excerpt, neutralise, split_lines
from smoke.options import (
    BuildOptions,
    FuzzOptions,
    LogsOptions,
    Options,
    RunOptions,
    check_files_exist,
    parse,
)
from smoke.parser import DEFAULT_LOG_FILE
from smoke.report.console import Console
from smoke.run import run_smoke

_CAUSE_CHARS = 200


def _dispatch(options: Options, console: Console) -> None:
    if isinstance(options, RunOptions | FuzzOptions):
        if options.stack.uses_compose:
            check_files_exist(options.stack.target)
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


def _error(message: str) -> None:
    # Some of it is compose's or a service's words: one line, nothing that acts.
    with contextlib.suppress(OSError):
        print(f"smoke: error: {' '.join(split_lines(neutralise(message)))}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    console = Console()
    options: Options | None = None
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
    except EngineCallError as exc:  # a docker call no step expected to fail
        _error(str(exc))
        return EXIT_CHECK_FAILED
    except KeyboardInterrupt:  # before the run installed its own handlers
        _error("interrupted")
        return 130
    except Exception as exc:  # a bug: one line here, the traceback in the log file only
        settings = getattr(options, "stack", None)
        log_file = settings.log_file if settings is not None else Path(DEFAULT_LOG_FILE)
        _error(f"smoke internal error: {_one_line(exc)}; {_keep_traceback(log_file)}")
        return EXIT_CHECK_FAILED
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    said = excerpt(str(exc), limit=_CAUSE_CHARS)
    return f"{type(exc).__name__}: {said}" if said else type(exc).__name__


def _keep_traceback(log_file: Path) -> str:
    """Append the exception being handled to ``log_file``; say where it went."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a", encoding="utf-8") as log:
            log.write(f"smoke internal error:\n{traceback.format_exc()}")
    except OSError as exc:
        return f"its traceback could not be written to {log_file} ({exc.strerror})"
    return f"its traceback is at the end of {log_file}"
