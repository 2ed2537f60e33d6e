"""How compose is called: a client for the project (one whose `compose logs` runs in a
session of its own), the chat flavour told through the env, and a failed compose
command as ``ComposeFailed`` with compose's stderr kept."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
from collections.abc import Iterator, Mapping

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from smoke.errors import ComposeFailed
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


def client(target: Target, *, detached: bool = False) -> DockerClient:
    return DockerClient(
        compose_files=list(target.compose_files),
        compose_project_name=target.project,
        compose_profiles=list(target.profiles),
        compose_env_files=list(target.env_files),
        client_call=[*_detached(), "docker"] if detached else ["docker"],
    )


def stderr_of(exc: DockerException) -> str:
    return (exc.stderr or exc.stdout or "").strip()


@contextlib.contextmanager
def compose_step(step: str, *, install_local_stack: bool) -> Iterator[None]:
    """Run a building compose command: the chat flavour and its image tag go to
    compose through the env, and a failure becomes ``ComposeFailed`` with
    compose's stderr kept."""
    with extra_env(**flavour_env(install_local_stack=install_local_stack)):
        try:
            yield
        except DockerException as exc:
            raise ComposeFailed(
                f"{step} failed (exit {exc.return_code})",
                return_code=exc.return_code,
                stderr=stderr_of(exc),
            ) from exc


@contextlib.contextmanager
def extra_env(**values: str) -> Iterator[None]:
    """Set env vars for the compose child process only while the block runs."""
    saved: Mapping[str, str | None] = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
