"""The one removal of a stack and its mark: direct, then compose down, retried, saying what
is left."""

from __future__ import annotations

import pytest

from smoke import clock
from smoke.clock import FakeClock
from smoke.errors import (
    TeardownIncomplete,
)
from smoke.stack.state import Resources
from smoke.stack.teardown import remove_stack
from tests.unit.fakes import FakeDocker, docker_error, run_marks, stack


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


def test_the_mark_goes_with_the_stack_unless_kept_and_a_stuck_mark_is_only_a_mark() -> None:
    from smoke.stack import marks

    docker = FakeDocker(running=True)
    marks.claim_mark(stack(docker), {"x": "1"})
    kept = remove_stack(stack(docker), mark=False)
    assert kept.marks == ()
    assert run_marks(docker) == [{"x": "1", "io.contoso-smoke.run": "p"}]
    assert remove_stack(stack(docker)).marks == ("p_smoke-run",)
    assert run_marks(docker) == []
    marks.claim_mark(stack(docker), {"x": "2"})
    docker.fail["volume remove"] = docker_error("volume remove")
    assert remove_stack(stack(docker)).marks == ()  # with the stack gone, only a mark


def test_the_teardown_lists_by_id_never_inspecting_each_thing() -> None:
    docker = FakeDocker(running=True, stubborn_downs=1)  # one removal leaves a container
    remove_stack(stack(docker))
    assert docker.calls.count("container list") == 3  # before, after each removal
    assert docker.calls.count("container remove") == 2
    assert not any("inspect" in name for name in docker.calls)


def test_a_settle_time_asks_for_a_second_empty_listing_and_no_more(fake_clock: FakeClock) -> None:
    slept = fake_clock.slept
    docker = FakeDocker(running=True)
    remove_stack(stack(docker), settle_seconds=0.3)
    assert slept == [0.3]  # after the removal: one look a moment later
    assert docker.calls.count("container list") == 3
    plain = FakeDocker(running=True)
    remove_stack(stack(plain))
    assert plain.calls.count("container list") == 2  # no settle time: one empty look
    empty = FakeDocker(running=False)
    remove_stack(stack(empty))
    assert empty.calls.count("container list") == 1  # nothing there: one look in all
    assert slept == [0.3]


def test_what_a_dead_runs_compose_creates_during_the_settle_is_removed_by_id(
    fake_clock: FakeClock,
) -> None:
    docker = FakeDocker(running=False)  # the first look finds nothing yet

    class Creating(FakeClock):
        def sleep(self, seconds: float) -> None:
            if not self.slept:
                docker.running = True  # a killed run's `up` was still creating
            super().sleep(seconds)

    with clock.using(Creating()):
        remove_stack(stack(docker), settle_seconds=0.3)
    assert not docker.running
    assert docker.calls.count("container remove") == 1
    assert not any("inspect" in name for name in docker.calls)  # listed by id only
