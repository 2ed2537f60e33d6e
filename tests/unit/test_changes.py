"""What `compose up` changed on a kept stack: said, and the logs from before kept only
then."""

from __future__ import annotations

from pathlib import Path

from smoke.stack.changes import said_changes, save_logs_before_up
from tests.unit.fakes import FakeDocker, FakeState, stack


def test_nothing_changed_says_nothing_and_keeps_no_logs(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    kept = stack(docker)
    before = kept.states()
    logs = save_logs_before_up(kept, tmp_path / "e2e-compose.log", before)
    assert logs == tmp_path / "e2e-compose.before-up.log"
    assert logs.is_file()
    assert said_changes(kept, before, logs) == ""
    assert not logs.exists()
    assert said_changes(kept, {}, None) == ""  # a fresh stack: nothing to compare


def test_a_recreated_and_a_removed_container_are_said_with_the_logs_kept(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    docker.states["api"] = FakeState()  # a service the file no longer has
    docker.service_logs["api"] = ["2026-11-25T12:00:04.000000000Z api's last words"]
    kept = stack(docker)
    before = kept.states()
    logs = save_logs_before_up(kept, tmp_path / "e2e-compose.log", before)
    assert logs is not None
    assert "api's last words" in logs.read_text()  # `docker logs`: compose cannot name it
    docker.states.pop("api")
    docker.states["web"] = FakeState(generation=2, image="sha256:image-2")
    assert said_changes(kept, before, logs) == (
        "recreated: web (its image changed); removed: api (not in the compose file); "
        f"their logs from before: {logs}"
    )
    assert logs.is_file()


def test_logs_that_cannot_be_read_do_not_stop_up(tmp_path: Path) -> None:
    from tests.unit.fakes import docker_error

    docker = FakeDocker(running=True)
    docker.fail["compose logs"] = docker_error("compose logs", 1, "engine busy")
    kept = stack(docker)
    assert save_logs_before_up(kept, tmp_path / "e2e-compose.log", kept.states()) is None


def test_several_changes_are_listed_in_order_and_without_logs_none_are_named(
    tmp_path: Path,
) -> None:
    docker = FakeDocker(running=True)
    for gone in ("api", "cache"):
        docker.states[gone] = FakeState()
    kept = stack(docker)
    before = kept.states()
    for gone in ("api", "cache"):
        docker.states.pop(gone)
    docker.states["web"] = FakeState(generation=2, image="sha256:image-2")
    docker.states["chat"] = FakeState(generation=2, image="sha256:image-3")
    assert said_changes(kept, before, None) == (
        "recreated: chat (its image changed), web (its image changed); "
        "removed: api, cache (not in the compose file)"
    )
    logs = tmp_path / "gone-already.log"  # removed by someone else: nothing to fail on
    assert said_changes(kept, kept.states(), logs) == ""
