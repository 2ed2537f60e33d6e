"""How docker and compose are called: a client for the project (one whose `compose
logs` runs in a session of its own; one per set of variables compose interpolates
the file with, such as the chat flavour), a failed compose command as
``ComposeFailed`` with compose's stderr kept, and the edge of
``stack/``: what leaves it raises ``EngineCallError``, never python-on-whales' own
``DockerException``."""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import ParamSpec, TypeVar

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from smoke.errors import ComposeFailed, EngineCallError
from smoke.stack.target import Target

#: The local embedding stack's chat image has a tag of its own, so the two builds
#: never overwrite each other (the compose file reads it from CHAT_IMAGE_TAG).
LOCAL_CHAT_TAG = "local"


def flavour_env(*, install_local_stack: bool) -> dict[str, str]:
    """What compose is told about chat's flavour: the build argument and the tag."""
    return {
        "CHAT_INSTALL_LOCAL_STACK": "1" if install_local_stack else "0",
        "CHAT_IMAGE_TAG": LOCAL_CHAT_TAG if install_local_stack else "lite",
    }


# Runs docker in a session of its own: a Ctrl-C pressed in the terminal signals the
# smoke's process group, and compose (which takes SIGINT for itself) must not lose the
# logs the smoke is saving before the teardown. util-linux's setsid where it is (about
# 1 ms); else Python (about 40 ms).
_PYTHON_SETSID = (
    sys.executable,
    "-c",
    "import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])",
)


@functools.cache
def _detached() -> tuple[str, ...]:
    return ("setsid", "--wait") if shutil.which("setsid") else _PYTHON_SETSID


# Gives docker's process the variables compose interpolates the file with (the chat
# flavour, how spans travel), without touching this process's own environment, which
# threads share. coreutils' env where it is; else Python.
_PYTHON_ENV = (
    sys.executable,
    "-c",
    "import os, sys; n = int(sys.argv[1]); "
    "os.environ.update(a.split('=', 1) for a in sys.argv[2 : 2 + n]); "
    "os.execvp(sys.argv[2 + n], sys.argv[2 + n :])",
)


@functools.cache
def _env_program() -> tuple[str, ...]:
    found = shutil.which("env")
    return (found,) if found else _PYTHON_ENV


def _with_env(env: Mapping[str, str]) -> list[str]:
    """The words before ``docker`` that set ``env`` for its process only."""
    if not env:
        return []
    pairs = [f"{name}={value}" for name, value in sorted(env.items())]
    program = _env_program()
    return [*program, *pairs] if program != _PYTHON_ENV else [*program, str(len(pairs)), *pairs]


def client(
    target: Target, *, detached: bool = False, env: Mapping[str, str] | None = None
) -> DockerClient:
    """A client for ``target``'s project; ``detached``: in a session of its own;
    ``env``: variables its docker process gets on top of this one's."""
    return DockerClient(
        compose_files=list(target.compose_files),
        compose_project_name=target.project,
        compose_profiles=list(target.profiles),
        compose_env_files=list(target.env_files),
        client_call=[*(_detached() if detached else ()), *_with_env(env or {}), "docker"],
    )


#: What a failed docker call raises inside ``stack/``: python-on-whales' error, or one
#: already turned into the smoke's own by a call that crossed the edge.
ENGINE_ERRORS = (DockerException, EngineCallError)

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def translated(exc: DockerException) -> EngineCallError:
    """python-on-whales' error as the smoke's own, said in one line."""
    command = [str(word) for word in exc.docker_command]
    said = (exc.stderr or "").strip()
    last = said.split("\n")[-1] if said else ""
    return EngineCallError(
        f"`{docker_verb(command)}` exited {exc.return_code}" + (f": {last}" if last else ""),
        command=command,
        return_code=exc.return_code,
        stderr=exc.stderr or "",
        stdout=exc.stdout or "",
    )


def edge(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` as ``stack/`` hands it out: a failed docker call in it raises
    ``EngineCallError``."""

    @functools.wraps(func)
    def crossing(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DockerException as exc:
            raise translated(exc) from exc

    return crossing


def edge_methods(cls: type[T]) -> type[T]:
    """Every public method of ``cls`` at the edge (``edge``); properties too."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(member, property) and member.fget is not None:
            setattr(cls, name, property(edge(member.fget), member.fset, member.fdel))
        elif isinstance(member, staticmethod | classmethod):
            setattr(cls, name, type(member)(edge(member.__func__)))
        elif callable(member) and not isinstance(member, type):
            setattr(cls, name, edge(member))
    return cls


def stderr_of(exc: DockerException | EngineCallError) -> str:
    return (exc.stderr or exc.stdout or "").strip()


def _compose_step(step: str) -> Iterator[None]:
    """Run a building compose command: a failure becomes ``ComposeFailed`` with
    compose's stderr kept."""
    try:
        yield
    except ENGINE_ERRORS as exc:
        raise ComposeFailed(
            f"{step} failed (exit {exc.return_code})",
            return_code=exc.return_code,
            stderr=stderr_of(exc),
        ) from exc


compose_step = contextlib.contextmanager(_compose_step)  # not @: mutmut skips decorated code


def docker_verb(command: Sequence[str]) -> str:
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
