"""The one removal of a stack and its mark: direct, then compose down, retried, saying what
is left."""

from __future__ import annotations

import pytest

from smoke.report.errors import (
    TeardownIncomplete,
)
from smoke.stack.state import Resources
from smoke.stack.teardown import remove_stack
from tests.unit.fakes import FakeDocker, docker_error, stack


def test_teardown_removes_directly_and_checks_it_is_gone() -> None:
    docker = FakeDocker(running=True)
    assert remove_stack(stack(docker)).resources == Resources()  # not asked to describe
    assert "container remove" in docker.calls
    assert "compose down" not in docker.calls
    assert not docker.running


def test_teardown_falls_back_to_compose_down_when_direct_removal_fails() -> None:
    docker = FakeDocker(running=True)
    docker.fail["container remove"] = docker_error("rm", 1, "removal in progress")
    remove_stack(stack(docker))
    assert docker.calls.index("container remove") < docker.calls.index("compose down")
    assert not docker.running


def test_teardown_describes_what_it_removed_and_nothing_when_nothing() -> None:
    docker = FakeDocker(running=True)
    assert remove_stack(stack(docker), describe=True).resources.containers == (
        "p-chat-1",
        "p-db-1",
        "p-web-1",
    )
    assert remove_stack(stack(docker), describe=True).resources == Resources()
    assert docker.calls.count("container remove") == 1


def test_teardown_retries_then_says_what_is_left() -> None:
    docker = FakeDocker(running=True, stubborn_downs=2)
    remove_stack(stack(docker))
    assert docker.calls.count("container remove") == 3
    stubborn = FakeDocker(running=True, stubborn_downs=3)
    with pytest.raises(TeardownIncomplete) as caught:
        remove_stack(stack(stubborn))
    assert str(caught.value) == (  # by name, for the person who removes them
        "still present after 3 attempts: 3 containers (p-chat-1, p-db-1, p-web-1), "
        "1 network (p_default)"
    )
    assert caught.value.failure_class == "teardown incomplete"
