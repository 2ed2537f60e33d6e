"""Before anything starts: what is checked, and the claim given back when the run
stops there."""

from __future__ import annotations

import pytest

from smoke.errors import DockerUnreachable, NoStackRunning
from smoke.preparation import give_back, prepare
from smoke.report.console import Console
from tests.unit.fakes import PASSWORD, FakeDocker, Terminal, docker_error, stack


def prepared(docker: FakeDocker, **options: bool) -> object:
    values = {"prebuilt": False, "install_local_stack": False, "kept": False, **options}
    return prepare(stack(docker), Console(Terminal(), tty=False), max_run_seconds=60, **values)


def test_a_fresh_project_is_claimed_and_its_secrets_masked() -> None:
    docker = FakeDocker()
    done = prepared(docker)
    assert done.storage_driver == "overlay2"  # type: ignore[attr-defined]
    assert done.reused is False  # type: ignore[attr-defined]
    assert done.masker(f"pw {PASSWORD}") == "pw ****"  # type: ignore[attr-defined]
    assert any("p" in name for name in docker.volumes)  # the run's mark


def test_a_kept_stack_is_reused() -> None:
    docker = FakeDocker(running=True)
    assert prepared(docker, kept=True).reused is True  # type: ignore[attr-defined]


def test_attach_needs_a_running_stack_and_gives_the_claim_back() -> None:
    docker = FakeDocker(running=False)
    with pytest.raises(NoStackRunning, match="no stack is running for project p"):
        prepared(docker, attach=True)
    assert docker.volumes == {}  # nothing claimed any more
    assert prepared(FakeDocker(running=True), attach=True, kept=True).reused is True  # type: ignore[attr-defined]


def test_an_unreachable_engine_is_said_as_such_and_nothing_stays_claimed() -> None:
    docker = FakeDocker()
    docker.fail["info"] = docker_error("info", 1, "Cannot connect")
    with pytest.raises(DockerUnreachable):
        prepared(docker)
    assert docker.volumes == {}


def test_give_back_removes_the_mark() -> None:
    docker = FakeDocker()
    prepared(docker)
    give_back(stack(docker))
    assert docker.volumes == {}
