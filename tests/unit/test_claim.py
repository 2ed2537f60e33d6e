"""A run's claim on its project: taken atomically before anything is created, judged
against an earlier run's mark, a reaper only for stacks that may be torn down."""

from __future__ import annotations

import io
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from smoke.errors import ProjectInUse
from smoke.report.console import Console
from smoke.stack import claim as guard
from smoke.stack.claim import CLAIM_TOKEN, Owner
from smoke.stack.marks import MARK_LABEL
from tests.unit.fakes import FakeDocker, stack


class Reapers:
    """reaper.start stood in for: records who started one, and releases."""

    def __init__(self) -> None:
        self.started: list[tuple[str, Any, Path]] = []
        self.released = 0

    def start(self, project: str, files: Any, log_file: Path, **kwargs: Any) -> Any:
        self.started.append((project, files, log_file))
        reapers = self

        class Handle:
            def release(self) -> None:
                reapers.released += 1

        return Handle()


@pytest.fixture
def reapers(monkeypatch: pytest.MonkeyPatch) -> Reapers:
    stand_in = Reapers()
    monkeypatch.setattr(guard.reaper_module, "start", stand_in.start)
    return stand_in


def handle_of(
    docker: FakeDocker, *, kept: bool = False, reaper: bool = True, out: io.StringIO | None = None
) -> guard.Claim:
    """The claim a run holds, as the lifecycle makes it."""
    console = Console(out if out is not None else io.StringIO())
    log_file = Path("e2e-compose.log")
    return guard.Claim(stack(docker), kept=kept, reaper=reaper, log_file=log_file, console=console)


def claim(docker: FakeDocker, *, exists: bool = False, kept: bool = False) -> tuple[bool, str]:
    out = io.StringIO()
    reused = guard.claim(
        stack(docker), Console(out), stack_exists=exists, max_run_seconds=420, kept=kept
    )
    return reused, out.getvalue()


def mark_of(owner: Owner) -> dict[str, str]:
    return owner.labels("p")


def dead_owner(*, kept: bool = False) -> Owner:
    import subprocess

    finished = subprocess.Popen(["true"])
    finished.wait()
    return Owner(finished.pid, "1", socket.gethostname(), datetime.now(UTC), kept)


def test_a_free_project_is_claimed_with_this_runs_mark() -> None:
    docker = FakeDocker()
    assert claim(docker) == (False, "")
    labels = docker.volumes["p_smoke-run"]
    assert labels[MARK_LABEL] == "p"
    owner = Owner.from_labels(labels)
    assert owner is not None
    assert (owner.pid, owner.kept) == (os.getpid(), False)
    assert len(labels[CLAIM_TOKEN]) == 32


def test_of_two_claims_at_once_exactly_one_holds_the_project() -> None:
    """The engine keeps the first creator's labels: the second finds them, sees a
    live owner, and stops without touching anything."""
    docker = FakeDocker()
    assert claim(docker) == (False, "")
    first = dict(docker.volumes["p_smoke-run"])
    calls = len(docker.calls)
    with pytest.raises(ProjectInUse) as caught:
        claim(docker)
    assert str(caught.value).startswith("project p is in use by a running smoke (started ")
    assert str(caught.value).endswith(f"by PID {os.getpid()} on {socket.gethostname()})")
    assert caught.value.hint == "wait for it to finish, or give this run another --project"
    assert docker.volumes["p_smoke-run"] == first
    assert docker.calls[calls:] == ["volume create"]  # read back as created; nothing removed


def test_a_stale_stack_is_named_and_removed_once_the_project_is_claimed() -> None:
    docker = FakeDocker(running=True)
    docker.volumes["p_smoke-run"] = mark_of(dead_owner())
    reused, said = claim(docker, exists=True)
    assert reused is False
    assert said.startswith("smoke: stale stack of project p (started ")
    assert said.rstrip().endswith("that run died with no reaper to remove it): removing it")
    assert not docker.running
    owner = Owner.from_labels(docker.volumes["p_smoke-run"])
    assert owner is not None
    assert owner.pid == os.getpid()
    # Claimed first, removed after: no other run can slip in between.
    assert docker.calls.index("container remove") > docker.calls.index("volume remove")


@pytest.mark.parametrize(("kept", "exists", "reused"), [(True, True, True), (False, False, False)])
def test_a_finished_runs_kept_stack_is_reused_and_a_leftover_mark_taken_over(
    kept: bool, exists: bool, reused: bool
) -> None:
    docker = FakeDocker(running=exists)
    docker.volumes["p_smoke-run"] = mark_of(dead_owner(kept=kept))
    assert claim(docker, exists=exists) == (reused, "")
    assert docker.running is exists  # nothing removed
    owner = Owner.from_labels(docker.volumes["p_smoke-run"])
    assert owner is not None
    assert owner.pid == os.getpid()


def test_an_unmarked_stack_is_reused_as_found() -> None:
    docker = FakeDocker(running=True)
    assert claim(docker, exists=True) == (True, "")
    assert docker.running


def test_a_keep_stack_run_marks_kept_from_the_start_and_still_holds_the_project() -> None:
    docker = FakeDocker()
    claim(docker, kept=True)
    assert docker.volumes["p_smoke-run"]["io.contoso-smoke.kept"] == "1"
    with pytest.raises(ProjectInUse):
        claim(docker)  # kept, but its run is alive


def test_a_mark_that_cannot_be_written_is_a_warning_saying_what_is_lost() -> None:
    from tests.unit.fakes import docker_error

    docker = FakeDocker()
    docker.fail["volume create"] = docker_error("volume create", 1)
    reused, said = claim(docker)
    assert reused is False
    assert said == (
        "smoke: warning: could not mark project p as this run's (`docker volume create` "
        "exited 1); a run started meanwhile will not see this one, and one started after a "
        "crash will not know whose stack it finds\n"
    )


def test_a_contended_take_over_is_in_use() -> None:
    """A dead run's mark removed, but another run claims first: this one stops."""
    docker = FakeDocker()
    docker.volumes["p_smoke-run"] = mark_of(dead_owner())
    original = docker._volume_remove

    def remove_then_lose_the_race(volumes: list[Any]) -> None:
        original(volumes)
        docker.volumes["p_smoke-run"] = mark_of(Owner.this_process(kept=False))

    docker.volume.remove = remove_then_lose_the_race
    with pytest.raises(ProjectInUse, match="in use by a running smoke"):
        claim(docker)


def test_a_mark_that_keeps_coming_back_is_contention_said_as_such() -> None:
    """Each dead run's mark taken over is replaced by another at once: the project is
    contended, and the run stops saying so."""
    docker = FakeDocker()
    docker.volumes["p_smoke-run"] = mark_of(dead_owner())
    original = docker._volume_remove

    def remove_then_another_dead_mark(volumes: list[Any]) -> None:
        original(volumes)
        docker.volumes["p_smoke-run"] = mark_of(dead_owner())

    docker.volume.remove = remove_then_another_dead_mark
    with pytest.raises(ProjectInUse) as caught:
        claim(docker)
    assert str(caught.value) == (
        "project p is in use by a running smoke (another run took it over at the same moment)"
    )
    assert caught.value.hint == "wait for it to finish, or give this run another --project"


def test_a_run_that_may_tear_down_starts_a_reaper_and_releases_it(
    reapers: Reapers,
) -> None:
    docker = FakeDocker()
    claim(docker)
    handle = handle_of(docker)
    handle.start()
    handle.close()
    assert reapers.started == [("p", (Path("docker-compose.yml"),), Path("e2e-compose.log"))]
    assert reapers.released == 1


def test_a_kept_run_gets_a_kept_mark_and_no_reaper(reapers: Reapers) -> None:
    docker = FakeDocker()
    claim(docker, kept=True)
    handle = handle_of(docker, kept=True)
    handle.start()
    handle.kept()
    handle.close()
    assert reapers.started == []
    (labels,) = docker.volumes.values()
    owner = Owner.from_labels(labels)
    assert owner is not None
    assert owner.kept


def test_kept_on_failure_turns_the_mark_kept_and_stands_the_reaper_down(
    reapers: Reapers,
) -> None:
    docker = FakeDocker()
    claim(docker)
    handle = handle_of(docker)
    handle.start()
    handle.kept()
    assert reapers.released == 1
    handle.close()
    assert reapers.released == 1  # once
    (labels,) = docker.volumes.values()
    assert labels["io.contoso-smoke.kept"] == "1"


def test_no_reaper_when_turned_off(reapers: Reapers) -> None:
    handle = handle_of(FakeDocker(), reaper=False)
    handle.start()
    handle.close()
    assert reapers.started == []


def test_a_kept_mark_that_cannot_be_written_is_a_warning_saying_what_the_next_run_misses(
    reapers: Reapers,
) -> None:
    from tests.unit.fakes import docker_error

    docker = FakeDocker()
    claim(docker)
    docker.fail["volume create"] = docker_error("volume create")
    out = io.StringIO()
    handle = handle_of(docker, out=out)
    handle.start()
    handle.kept()  # no exception: the stack is kept all the same
    handle.close()
    assert reapers.released == 1
    (line,) = out.getvalue().splitlines()
    assert line.startswith("smoke: warning: could not mark the stack of project p as kept")
    assert "may remove it as stale" in line
