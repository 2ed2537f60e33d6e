"""The reaper: removes a run's stack when the run dies before its own teardown.

The smoke handles what it can see (a failed check, an exception, SIGINT, SIGTERM,
SIGHUP). What it cannot see is its own death: ``kill -9``, the OOM killer, a crash,
its whole process group killed. So each run that may tear down starts a watchdog,
``python -m smoke.stack.reaper``, in a session of its own (a killed process group or a
closed terminal does not reach it), holding the read end of a pipe whose write end
only the run holds. Like Ryuk's held connection: when the run ends normally it
writes one byte ("released") and the watchdog exits; when the run dies, the kernel
closes the pipe, the read returns nothing, and the watchdog stops the run's
orphaned compose commands, writes the logs, removes the stack and its mark.

It needs nothing but this package and the docker CLI the run used (the same
DOCKER_HOST); no container, no registry. Kept stacks get no reaper. Turn it off with
``--no-reaper`` or ``SMOKE_REAPER=0``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_RELEASE = b"r"
#: Removals tried before the reaper gives up: each stops the dead run's compose first.
_ATTEMPTS = 8
_SETTLE_SECONDS = 0.3


class Reaper:
    """The run's end of the pipe."""

    def __init__(self, process: subprocess.Popen[bytes], write_fd: int) -> None:
        self.process = process
        self._fd: int | None = write_fd

    def release(self) -> None:
        """The run ended by itself (torn down, or kept on purpose): stand down."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._fd, _RELEASE)
        os.close(self._fd)
        self._fd = None


def start(
    project: str,
    compose_files: Sequence[Path],
    log_file: Path,
    *,
    secret_names: Sequence[str] = (),
    profiles: Sequence[str] = (),
    env_files: Sequence[Path] = (),
    python: str = sys.executable,
) -> Reaper:
    """Start the watchdog for this process; it costs a fork and an exec, no docker call."""
    read_fd, write_fd = os.pipe()  # neither end is inherited but where passed
    command = [
        python,
        "-m",
        "smoke.stack.reaper",
        "--fd",
        str(read_fd),
        "--owner",
        str(os.getpid()),
    ]
    command += ["--project", project, "--log-file", str(log_file.resolve())]
    for path in compose_files:
        command += ["--compose-file", str(path.resolve())]
    for name in secret_names:  # the values stay in the environment it inherits
        command += ["--secret", name]
    for profile in profiles:
        command += ["--compose-profile", profile]
    for env_file in env_files:
        command += ["--env-file", str(env_file.resolve())]
    try:
        process = subprocess.Popen(
            command,
            pass_fds=(read_fd,),
            start_new_session=True,  # out of reach of a killed process group or a hangup
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=Path.cwd(),
        )
    finally:
        os.close(read_fd)
    return Reaper(process, write_fd)


# -- the watchdog's side ------------------------------------------------------------------


def _orphaned_compose(project: str) -> list[int]:
    """PIDs of compose commands still working on the project after their run died
    (an `up` mid-build would otherwise start containers after the reap)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv]
        if "compose" in words and any(
            words[i] in ("--project-name", "-p") and words[i + 1] == project
            for i in range(len(words) - 1)
        ):
            found.append(int(entry.name))
    return [pid for pid in found if pid != os.getpid()]


def _stop_orphans(project: str) -> None:
    for pid in _orphaned_compose(project):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def reap(
    project: str,
    compose_files: Sequence[Path],
    log_file: Path,
    owner: int,
    secret_names: Sequence[str] = (),
    *,
    profiles: Sequence[str] = (),
    env_files: Sequence[Path] = (),
) -> None:
    from smoke.errors import SmokeError
    from smoke.masking import Masker
    from smoke.stack.compose import Stack
    from smoke.stack.logs import write_logs
    from smoke.stack.target import Target
    from smoke.stack.teardown import remove_stack

    _stop_orphans(project)
    target = Target(
        project,
        tuple(compose_files),
        tuple(secret_names),
        profiles=tuple(profiles),
        env_files=tuple(env_files),
    )
    stack = Stack(target)
    note = f"reaper: the smoke run (PID {owner}) died before its teardown; removing the stack"
    try:
        write_logs(stack, log_file, Masker(stack.secrets()))
        with log_file.open("a", encoding="utf-8") as log:
            log.write(note + "\n")
    except Exception:  # the logs are best effort; the teardown is the job
        pass
    # The run's compose may still be creating: stop it before each removal, and count
    # the stack gone only when two listings a moment apart find nothing.
    with contextlib.suppress(SmokeError):
        remove_stack(
            stack,
            attempts=_ATTEMPTS,
            settle_seconds=_SETTLE_SECONDS,
            before_each=lambda: _stop_orphans(project),
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smoke.stack.reaper", description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--owner", type=int, required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--compose-file", type=Path, action="append", required=True)
    parser.add_argument("--log-file", type=Path, required=True)
    parser.add_argument("--secret", action="append", default=[])
    parser.add_argument("--compose-profile", action="append", default=[])
    parser.add_argument("--env-file", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # a reaper that a terminal can stop is no reaper
    got = os.read(args.fd, 1)  # a signal does not cut it short (PEP 475)
    if got == _RELEASE:
        return 0
    reap(
        args.project,
        args.compose_file,
        args.log_file,
        args.owner,
        args.secret,
        profiles=args.compose_profile,
        env_files=args.env_file,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
