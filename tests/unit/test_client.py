"""How compose is called: the flavour's env, a client per project, `compose logs` in a
session of its own, and a failed command as ComposeFailed with its stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from python_on_whales.exceptions import DockerException

from smoke.errors import ComposeFailed
from smoke.stack.client import (
    LOCAL_CHAT_TAG,
    client,
    compose_step,
    flavour_env,
    stderr_of,
)
from smoke.stack.target import Target

TARGET = Target(
    "p1", (Path("a.yml"), Path("b.yml")), profiles=("extra",), env_files=(Path(".env"),)
)


def test_the_flavour_goes_to_compose_as_its_build_argument_and_tag() -> None:
    assert flavour_env(install_local_stack=True) == {
        "CHAT_INSTALL_LOCAL_STACK": "1",
        "CHAT_IMAGE_TAG": LOCAL_CHAT_TAG,
    }
    assert flavour_env(install_local_stack=False) == {
        "CHAT_INSTALL_LOCAL_STACK": "0",
        "CHAT_IMAGE_TAG": "lite",
    }


def test_a_client_speaks_for_the_project_and_a_detached_one_runs_in_its_own_session() -> None:
    plain, detached = client(TARGET), client(TARGET, detached=True)
    for made in (plain, detached):
        assert made.client_config.compose_project_name == "p1"
        assert [str(f) for f in made.client_config.compose_files] == ["a.yml", "b.yml"]
        assert made.client_config.compose_profiles == ["extra"]
    assert plain.client_config.client_call == ["docker"]
    call = detached.client_config.client_call
    assert call[-1] == "docker"
    # The prefix runs its program in a new session: not in this process group.
    script = [*call[:-1], sys.executable, "-c", "import os; print(os.getsid(0))"]
    said = subprocess.run(script, capture_output=True, text=True, check=True, timeout=30)
    assert int(said.stdout) != os.getsid(0)


def test_a_failed_compose_command_keeps_its_code_and_stderr() -> None:
    error = DockerException(["docker", "compose", "up"], 17, b"", b"no such image\n")
    with (
        pytest.raises(ComposeFailed) as raised,
        compose_step("compose up"),
    ):
        raise error
    assert str(raised.value) == "compose up failed (exit 17)"
    assert raised.value.return_code == 17
    assert raised.value.stderr == "no such image"
    assert stderr_of(DockerException(["docker"], 1, b"only stdout", None)) == "only stdout"


@pytest.mark.parametrize("program", ["env", "python"])
def test_a_client_with_variables_gives_them_to_its_docker_process_only(
    program: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose interpolates the file with them; this process's environment, which its
    threads share, never holds them."""
    from smoke.stack import client as client_module

    if program == "python":  # no coreutils env: Python sets them
        monkeypatch.setattr(client_module.shutil, "which", lambda name: None)
    client_module._env_program.cache_clear()
    try:
        call = client(TARGET, env={"SMOKE_T_A": "1", "SMOKE_T_B": "x=y"}).client_config.client_call
    finally:
        client_module._env_program.cache_clear()
    assert call[-1] == "docker"
    assert "SMOKE_T_A" not in os.environ
    script = [
        *call[:-1],
        sys.executable,
        "-c",
        "import os; print(os.environ['SMOKE_T_A'], os.environ['SMOKE_T_B'])",
    ]
    said = subprocess.run(script, capture_output=True, text=True, check=True, timeout=30)
    assert said.stdout == "1 x=y\n"
    assert client(TARGET, env={}).client_config.client_call == ["docker"]


def test_without_util_linuxs_setsid_python_detaches_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from smoke.stack import client as client_module

    monkeypatch.setattr(client_module.shutil, "which", lambda name: None)
    client_module._detached.cache_clear()
    try:
        call = client(TARGET, detached=True).client_config.client_call
    finally:
        client_module._detached.cache_clear()
    assert call[0] == sys.executable
    script = [*call[:-1], sys.executable, "-c", "import os; print(os.getsid(0))"]
    said = subprocess.run(script, capture_output=True, text=True, check=True, timeout=30)
    assert int(said.stdout) != os.getsid(0)


def test_what_leaves_the_stack_raises_the_smokes_own_error_with_its_data() -> None:
    from smoke.errors import EngineCallError
    from smoke.stack.client import edge, edge_methods

    def fails() -> None:
        raise DockerException(["docker", "compose", "-f", "a.yml", "up"], 17, b"", b"x\nno room\n")

    @edge_methods
    class Edge:
        def method(self) -> None:
            fails()

        @property
        def looked_up(self) -> None:
            fails()

        @staticmethod
        def static() -> None:
            fails()

        def _inside(self) -> None:  # not handed out: left as it is
            fails()

    for call in (edge(fails), Edge().method, lambda: Edge().looked_up, Edge.static):
        with pytest.raises(EngineCallError) as caught:
            call()
        assert str(caught.value) == "`docker compose up` exited 17: no room"
        assert caught.value.command == ("docker", "compose", "-f", "a.yml", "up")
        assert caught.value.return_code == 17
        assert caught.value.stderr == "x\nno room\n"
    with pytest.raises(DockerException):
        Edge()._inside()


def test_the_smokes_own_error_keeps_both_streams_and_says_no_words_when_there_were_none() -> None:
    from smoke.stack.client import translated

    said = translated(DockerException(["docker", "volume", "ls"], 1, b"listed\n", b"warn\n"))
    assert (said.stdout, said.stderr) == ("listed\n", "warn\n")
    silent = translated(DockerException(["docker", "volume", "ls"], 125, None, None))
    assert (str(silent), silent.stdout, silent.stderr) == ("`docker volume` exited 125", "", "")


def test_the_edge_keeps_a_propertys_setter_and_deleter_and_leaves_nested_classes_alone() -> None:
    from smoke.stack.client import edge_methods

    @edge_methods
    class Edge:
        class Inner:
            pass

        def __init__(self) -> None:
            self._value = 1

        @property
        def value(self) -> int:
            return self._value

        @value.setter
        def value(self, new: int) -> None:
            self._value = new

        @value.deleter
        def value(self) -> None:
            self._value = 0

    edged = Edge()
    edged.value = 5
    assert edged.value == 5
    del edged.value
    assert edged.value == 0
    assert isinstance(Edge.Inner, type)
