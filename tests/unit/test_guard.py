"""A run's claim on its stack: the verdict acted on before `up`, the mark written
beside it, a reaper only for stacks that may be torn down."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast

import pytest
from python_on_whales import DockerClient

from smoke import guard
from smoke.console import Console
from smoke.errors import ProjectInUse
from smoke.options import FuzzOptions, Target
from smoke.ownership import LABEL, Owner, Verdict
from smoke.stack import Stack
from tests.unit.fakes import FakeDocker, run_options


def stack(docker: FakeDocker) -> Stack:
    return Stack(Target("p", (Path("docker-compose.yml"),)), docker=cast(DockerClient, docker))


class Reapers:
    """reaper.start stood in for: records who started one, and releases."""

    def __init__(self) -> None:
        self.started: list[tuple[str, Any, Path]] = []
        self.released = 0

    def start(self, project: str, files: Any, log_file: Path) -> Any:
        self.started.append((project, files, log_file))
        reapers = self

        class Handle:
            def release(self) -> None:
                reapers.released += 1

        return Handle()


@pytest.fixture
def reapers(monkeypatch: pytest.MonkeyPatch) -> Reapers:
    stand_in = Reapers()
    monkeypatch.setattr(guard.reaper, "start", stand_in.start)
    return stand_in


def test_a_stack_in_use_stops_the_run_naming_its_owner() -> None:
    owner = Owner(4242, "", "box", Owner.this_process(kept=False).started_at, False)
    with pytest.raises(ProjectInUse) as caught:
        guard.settle(stack(FakeDocker()), Verdict("in use", owner), Console(io.StringIO()))
    assert str(caught.value).startswith("project p is in use by a running smoke (started ")
    assert str(caught.value).endswith("by PID 4242 on box)")
    assert caught.value.hint == "wait for it to finish, or give this run another --project"


def test_a_stale_stack_is_named_and_removed_with_its_mark() -> None:
    docker = FakeDocker(running=True)
    docker.volumes["p_smoke-run"] = {LABEL: "p"}
    out = io.StringIO()
    owner = Owner(4242, "", "box", Owner.this_process(kept=False).started_at, False)
    assert guard.settle(stack(docker), Verdict("stale", owner), Console(out)) is False
    said = out.getvalue()
    assert said.startswith("smoke: stale stack of project p (started ")
    assert said.rstrip().endswith(
        "by PID 4242 on box; that run died with no reaper to remove it): removing it"
    )
    assert not docker.running
    assert docker.volumes == {}


@pytest.mark.parametrize(("claim", "reused"), [("kept", True), ("free", False)])
def test_kept_is_reused_and_free_is_fresh(claim: Any, reused: bool) -> None:
    docker = FakeDocker(running=True)
    assert guard.settle(stack(docker), Verdict(claim), Console(io.StringIO())) is reused
    assert docker.running  # neither is removed


def test_a_run_that_may_tear_down_marks_and_starts_a_reaper(reapers: Reapers) -> None:
    docker = FakeDocker()
    claim = guard.Claim(stack(docker), run_options(reaper=True))
    claim.start()
    claim.removed().result()
    claim.close()
    assert reapers.started == [("p", (Path("docker-compose.yml"),), Path("e2e-compose.log"))]
    assert reapers.released == 1
    assert "volume create" in docker.calls
    assert docker.volumes == {}  # cleared with the stack


def test_a_kept_run_gets_a_kept_mark_and_no_reaper(reapers: Reapers) -> None:
    docker = FakeDocker()
    claim = guard.Claim(stack(docker), run_options(keep="always", reaper=True))
    claim.start()
    claim.kept()
    claim.close()
    assert reapers.started == []
    (labels,) = docker.volumes.values()
    owner = Owner.from_labels(labels)
    assert owner is not None
    assert owner.kept


def test_kept_on_failure_turns_the_mark_kept_and_stands_the_reaper_down(
    reapers: Reapers,
) -> None:
    docker = FakeDocker()
    claim = guard.Claim(stack(docker), run_options(keep="on-failure", reaper=True))
    claim.start()
    claim.kept()
    assert reapers.released == 1
    claim.close()
    assert reapers.released == 1  # once
    (labels,) = docker.volumes.values()
    assert labels["io.contoso-smoke.kept"] == "1"


def test_no_reaper_when_turned_off(reapers: Reapers) -> None:
    claim = guard.Claim(stack(FakeDocker()), run_options(reaper=False))
    claim.start()
    claim.close()
    assert reapers.started == []


def test_a_fuzz_run_is_claimed_like_a_smoke(reapers: Reapers) -> None:
    fuzz = FuzzOptions(Target("p", ()), False, 1.0, None, 1, None, Path("f.log"), reaper=True)
    claim = guard.Claim(stack(FakeDocker()), fuzz)
    claim.start()
    claim.close()
    assert reapers.started == [("p", (Path("docker-compose.yml"),), Path("f.log"))]


def test_a_mark_that_cannot_be_written_is_no_failure(reapers: Reapers) -> None:
    from tests.unit.fakes import docker_error

    docker = FakeDocker()
    docker.fail["volume create"] = docker_error("volume create")
    claim = guard.Claim(stack(docker), run_options())
    claim.start()
    claim.kept()  # settles the failed mark quietly
    claim.close()


def test_the_mark_names_the_project_and_this_process(reapers: Reapers) -> None:
    import os

    docker = FakeDocker()
    docker.volumes["p_smoke-run"] = {LABEL: "p", "io.contoso-smoke.owner-pid": "1"}
    claim = guard.Claim(stack(docker), run_options())  # an earlier run's mark: replaced
    claim.start()
    claim.close()
    labels = docker.volumes["p_smoke-run"]
    assert labels[LABEL] == "p"
    owner = Owner.from_labels(labels)
    assert owner is not None
    assert (owner.pid, owner.kept) == (os.getpid(), False)


def test_a_project_without_marks_is_not_asked_to_clear_them(reapers: Reapers) -> None:
    docker = FakeDocker()
    claim = guard.Claim(stack(docker), run_options(), clear_first=False)
    claim.start()
    claim.close()
    assert "volume list" not in docker.calls
    assert list(docker.volumes) == ["p_smoke-run"]
