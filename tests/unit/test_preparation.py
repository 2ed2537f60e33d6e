"""Before anything starts: what is checked, and the claim given back when the run
stops there."""

from __future__ import annotations

import pytest

from smoke.errors import DockerUnreachable, ImageNotOwned, NoStackRunning, ServicesMissing
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


def test_a_compose_file_without_the_services_a_command_needs_stops_before_anything() -> None:
    """A team's file that calls chat `api`: said at once, naming what chat must answer."""
    docker = FakeDocker()
    model = docker.fixed_model()
    model["services"]["api"] = model["services"].pop("chat")
    with pytest.raises(ServicesMissing) as caught:
        prepare(
            stack(docker),
            Console(Terminal(), tty=False),
            max_run_seconds=60,
            prebuilt=False,
            install_local_stack=False,
            kept=False,
            needs=("db", "chat", "web"),
        )
    assert str(caught.value) == (
        "the compose file has no service chat (services: api, db, web); the smoke needs "
        "chat answers /health and /health/dependencies on container port 8000"
    )
    assert "db, chat, web" in caught.value.hint
    assert caught.value.exit_code == 2
    assert docker.volumes == {}  # nothing claimed
    assert "compose up" not in docker.calls


@pytest.mark.parametrize("prebuilt", [False, True], ids=["build", "no-build"])
def test_a_built_image_under_a_shared_name_is_refused_before_anything(prebuilt: bool) -> None:
    """The docs' own example, `team/chat:dev`: refused with exit 2 on every path."""
    docker = FakeDocker()
    docker.fixed_model()["services"]["chat"]["image"] = "team/chat:dev"
    with pytest.raises(ImageNotOwned, match="service chat builds image team/chat:dev"):
        prepared(docker, prebuilt=prebuilt)
    assert docker.volumes == {}
    assert "compose up" not in docker.calls
