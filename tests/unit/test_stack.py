"""The compose stack through the python-on-whales fake: errors by return code, ports
checked on the right host, URLs where the engine publishes, the engine's view of a
container, teardown, and the run marks."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import cast

import pytest
from python_on_whales import DockerClient

from smoke.options import Target
from smoke.report.errors import (
    ComposeConfigInvalid,
    ComposeFailed,
    ComposeMissing,
    ComposeTimedOut,
    DockerUnreachable,
    EngineAddressUnreachable,
    NoStackRunning,
    PortInUse,
    PortUnavailable,
    TeardownIncomplete,
)
from smoke.stack import marks
from smoke.stack.compose import Stack
from smoke.stack.state import Resources, ServiceState
from smoke.stack.teardown import remove_stack
from tests.unit.fakes import PASSWORD, FakeDocker, FakeState, docker_error


def stack(docker: FakeDocker, **env: str) -> Stack:
    return Stack(
        Target("p", (Path("docker-compose.yml"),)), docker=cast(DockerClient, docker), env=env
    )


def test_preflight_names_the_storage_driver_and_an_unreachable_engine() -> None:
    assert stack(FakeDocker()).preflight() == "overlay2"
    down = FakeDocker(engine_up=False)
    with pytest.raises(DockerUnreachable) as caught:
        stack(down).preflight()
    assert str(caught.value) == "the docker engine is unreachable (docker info exited 1)"
    assert "DOCKER_HOST" in caught.value.hint


def test_compose_is_asked_for_its_version_only_when_the_model_cannot_be_read() -> None:
    docker = FakeDocker()
    assert stack(docker).config()["services"]["db"]["environment"]["POSTGRES_PASSWORD"] == PASSWORD
    assert "compose version" not in docker.calls
    invalid = FakeDocker()
    invalid.fail["compose config"] = docker_error("compose config", 15, "yaml: line 3: oops\nmore")
    with pytest.raises(ComposeConfigInvalid) as caught:
        stack(invalid).config()
    assert str(caught.value) == "invalid compose configuration: yaml: line 3: oops"
    assert caught.value.stderr == "yaml: line 3: oops\nmore"
    assert caught.value.hint == "fix the compose file, or check `docker compose config`"
    missing = FakeDocker()
    missing.fail["compose config"] = docker_error("compose config", 1)
    missing.fail["compose version"] = docker_error("compose version", 1)
    with pytest.raises(ComposeMissing, match=r"`docker compose version` exited 1"):
        stack(missing).config()


def test_the_model_is_read_once() -> None:
    docker = FakeDocker()
    one = stack(docker)
    one.config()
    one.config()
    assert docker.calls.count("compose config") == 1


def test_secrets_are_password_secret_and_token_values_longest_first() -> None:
    docker = FakeDocker()
    model = docker.fixed_model()
    model["services"]["chat"]["environment"] = {
        "API_SECRET": "s3",
        "access_token": "tok-long",
        "USER": "visible",
        "EMPTY_PASSWORD": "",
    }
    assert stack(docker).secrets() == ("s3cret-pass", "tok-long", "s3")


def test_a_fixed_port_taken_locally_is_refused(listener: int) -> None:
    docker = FakeDocker(published={"web": str(listener), "chat": "0"})
    with pytest.raises(PortInUse) as caught:
        stack(docker).check_ports()
    assert str(caught.value) == f"port 127.0.0.1:{listener} for web is already in use"
    assert caught.value.hint == "free it, or set SMOKE_WEB_PORT (0 picks a free port)"
    assert caught.value.port == listener
    stack(docker).check_ports(reachable_only=True)  # a kept stack holds its own ports


def test_free_and_ephemeral_ports_pass() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    stack(FakeDocker(published={"web": str(free), "chat": "0"})).check_ports()


def test_a_remote_engine_publishing_on_its_loopback_is_refused() -> None:
    far = stack(FakeDocker(), DOCKER_HOST="tcp://10.231.0.2:2375")
    with pytest.raises(EngineAddressUnreachable) as caught:
        far.check_ports()
    assert str(caught.value) == (
        "the remote engine tcp://10.231.0.2:2375 publishes ports on its own loopback "
        "(127.0.0.1), which this machine cannot reach"
    )
    assert "SMOKE_BIND_ADDRESS=0.0.0.0" in caught.value.hint
    assert "SMOKE_HOST" in caught.value.hint
    tunnelled = stack(FakeDocker(), DOCKER_HOST="tcp://10.231.0.2:2375", SMOKE_HOST="127.0.0.1")
    tunnelled.check_ports()  # SMOKE_HOST says where to probe: trusted


def test_on_a_remote_tcp_engine_a_port_that_accepts_is_taken(listener: int) -> None:
    docker = FakeDocker(published={"web": str(listener), "chat": "0"}, host_ip="0.0.0.0")
    far = stack(docker, DOCKER_HOST="tcp://127.0.0.1:2375")
    with pytest.raises(PortInUse, match=rf"port 127.0.0.1:{listener} for web"):
        far.check_ports()
    ssh = stack(docker, DOCKER_HOST="ssh://127.0.0.1")
    ssh.check_ports()  # not checkable through ssh: skipped, never this machine's ports


def test_urls_follow_the_engine() -> None:
    docker = FakeDocker(running=True, host_ip="0.0.0.0")
    assert stack(docker).url("web") == "http://127.0.0.1:3000"
    far = stack(docker, DOCKER_HOST="tcp://10.231.0.2:2375")
    assert far.url("chat") == "http://10.231.0.2:8000"
    v6 = stack(docker, DOCKER_HOST="tcp://[fd00::2]:2375")
    assert v6.url("chat") == "http://[fd00::2]:8000"


def test_no_port_yet_is_port_unavailable() -> None:
    with pytest.raises(PortUnavailable, match="web has no published port in project p"):
        stack(FakeDocker(running=False)).url("web")
    restarting = FakeDocker(running=True, port_failures=1)
    with pytest.raises(PortUnavailable, match=r"`compose port` exited 1; is it restarting\?"):
        stack(restarting).url("chat")


def test_the_engines_view_of_a_service() -> None:
    docker = FakeDocker(running=True)
    docker.states["chat"] = FakeState("restarting", 3, restarts=2, restart_policy="always")
    assert stack(docker).state("chat") == ServiceState(
        "restarting", 3, 2, None, "always", "id-chat", "2026-11-25T12:00:00Z"
    )
    docker.states["chat"] = FakeState(
        "exited", 137, health="unhealthy", health_output="wget: not found\n", oom_killed=True
    )
    docker.states["chat"].memory = 64 * 2**20
    oom = stack(docker).state("chat")
    assert oom is not None
    assert (oom.oom_killed, oom.memory_limit, oom.health_output) == (
        True,
        64 * 2**20,
        "wget: not found",
    )
    assert oom.ending() == "was OOM-killed (memory limit 64 MiB, exit code 137)"
    assert oom.describe() == (
        "exited, unhealthy, exit code 137, OOM-killed, 0 restarts; "
        "its healthcheck said: wget: not found"
    )
    assert stack(FakeDocker()).state("chat") is None  # no container yet
    exited = ServiceState("exited", 3, 0, None, "")
    assert exited.gone_for_good
    assert not ServiceState("exited", 3, 0, None, "on-failure").gone_for_good
    assert not ServiceState("restarting", 3, 1, None, "no").gone_for_good
    assert not ServiceState("running", None, 0, "healthy", "").gone_for_good
    assert ServiceState("dead", 137, 0, None, "no").gone_for_good
    assert exited.describe() == "exited, exit code 3, 0 restarts"
    assert exited.ending() == "exited with code 3"
    assert ServiceState("exited", 137, 0, None, "").ending() == (
        "was killed (exit code 137, SIGKILL)"
    )
    healthy = ServiceState("running", None, 1, "healthy", "")
    assert healthy.describe() == "running, healthy, exit code None, 1 restarts"


def test_resources_by_name_or_id_and_described() -> None:
    docker = FakeDocker(running=True)
    found = stack(docker).resources()
    assert found == Resources(("p-chat-1", "p-db-1", "p-web-1"), ("p_default",), ())
    assert found.describe() == ("3 containers (p-chat-1, p-db-1, p-web-1), 1 network (p_default)")
    assert stack(docker).resources(names=False).containers == ("id-chat", "id-db", "id-web")
    assert not Resources()
    assert Resources().describe() == "nothing"
    assert Resources(volumes=("v",)).describe() == "1 volume (v)"


def test_require_running() -> None:
    assert stack(FakeDocker(running=True)).require_running().containers
    with pytest.raises(NoStackRunning) as caught:
        stack(FakeDocker()).require_running()
    assert str(caught.value) == "no stack is running for project p"
    assert "nox -s smoke_lite -- --keep-stack" in caught.value.hint


def test_build_and_up_tell_compose_which_chat_and_keep_its_words() -> None:
    import os

    seen: list[tuple[str | None, str | None]] = []
    before = {name: os.environ.get(name) for name in ("CHAT_INSTALL_LOCAL_STACK", "CHAT_IMAGE_TAG")}
    docker = FakeDocker()
    docker.compose.build = lambda **kw: seen.append(
        (os.environ.get("CHAT_INSTALL_LOCAL_STACK"), os.environ.get("CHAT_IMAGE_TAG"))
    )
    stack(docker).build(install_local_stack=True)
    stack(docker).build(install_local_stack=False)
    assert seen == [("1", "local"), ("0", "lite")]
    after = {name: os.environ.get(name) for name in before}
    assert after == before  # only compose's child saw them
    docker.fail["compose up"] = docker_error("compose up", 18, "Error: image not found")
    with pytest.raises(ComposeFailed) as caught:
        stack(docker).up(build=False, install_local_stack=False)
    assert (str(caught.value), caught.value.return_code) == ("compose up failed (exit 18)", 18)
    assert caught.value.stderr == "Error: image not found"


def test_marks_are_created_listed_and_removed() -> None:
    docker = FakeDocker()
    s = stack(docker)
    assert marks.claim_mark(s, {"io.contoso-smoke.run": "p", "x": "1"}) == {
        "io.contoso-smoke.run": "p",
        "x": "1",
    }
    # The engine keeps the first creator's labels: the second claim reads them back.
    assert marks.claim_mark(s, {"io.contoso-smoke.run": "p", "x": "2"})["x"] == "1"
    assert marks.markers(s) == [{"io.contoso-smoke.run": "p", "x": "1"}]
    marks.remove_mark(s)
    marks.remove_mark(s)  # already gone: fine
    assert marks.markers(s) == []
    marks.claim_mark(s, {"io.contoso-smoke.run": "p"})
    marks.unmark(s)
    assert marks.markers(s) == []
    marks.unmark(s)  # nothing to remove: fine


# -- teardown -------------------------------------------------------------------------


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


def test_up_is_bounded_and_says_what_compose_waits_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    docker = FakeDocker()
    docker.compose.up = lambda *a, **k: time.sleep(5)  # waits on a dependency's health
    docker.running = True
    docker.states["chat"] = FakeState(
        "running", 0, health="unhealthy", health_output="wget: not found"
    )
    started = time.monotonic()
    with pytest.raises(ComposeTimedOut) as caught:
        stack(docker).up(build=False, install_local_stack=False, timeout=0.2)
    assert time.monotonic() - started < 2
    assert str(caught.value) == (
        "compose up did not finish within 0.2s (--timeout); the engine says chat is "
        "running, unhealthy, exit code 0, 0 restarts; its healthcheck said: wget: not found"
    )
    assert caught.value.failure_class == "compose up timeout"


def test_a_failed_up_names_a_missing_base_image_only_when_one_is_missing() -> None:
    docker = FakeDocker()
    model = docker.fixed_model()
    model["services"]["chat"]["build"] = {"args": {"BASE_IMAGE": "python:3.12-slim"}}
    docker.fail["compose up"] = docker_error("compose up", 1, "Error: boom")
    with pytest.raises(ComposeFailed) as caught:
        stack(docker).up(build=False, install_local_stack=False)
    assert "could not get" not in caught.value.hint
    docker.base_images.clear()
    with pytest.raises(ComposeFailed) as caught:
        stack(docker).up(build=False, install_local_stack=False)
    assert caught.value.hint.startswith("compose could not get python:3.12-slim: set ")
    assert caught.value.stderr == "Error: boom"


TCP_TABLE = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
    "   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"
    "   1: 00000000:0BB8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0\n"
)


@pytest.mark.parametrize(
    ("port", "listens"),
    [("1F40", True), ("0BB8", False), ("1F41", False), ("0A", False)],
)
def test_a_listener_is_read_from_the_kernels_table(port: str, listens: bool) -> None:
    from smoke.stack.state import listens as reads_listener

    assert reads_listener(TCP_TABLE, port) is listens
    assert reads_listener(TCP_TABLE.splitlines()[0], "1F40") is False  # the header alone


def test_listening_asks_inside_the_container_and_may_not_know() -> None:
    docker = FakeDocker(running=True)
    assert stack(docker).listening("chat") is True
    execs = [args for name, args, _ in docker.asked if name == "container execute"]
    assert execs[0] == ("id-chat", ["cat", "/proc/net/tcp"])
    docker.states["chat"] = FakeState(listening=False)
    assert stack(docker).listening("chat") is False
    docker.states["chat"] = FakeState(listening=None)  # no `cat` in the image
    assert stack(docker).listening("chat") is None
    assert stack(FakeDocker()).listening("chat") is None  # no container


def test_what_compose_waits_for_is_each_service_not_up_and_healthy() -> None:
    docker = FakeDocker(running=True)
    assert stack(docker).waiting_on() == ""  # all running, no healthcheck: nothing said
    docker.states["chat"] = FakeState("running", 0, health="healthy")
    docker.states["db"] = FakeState("running", 0, health="starting", health_output="booting")
    docker.states["web"] = FakeState("created", 0)
    assert stack(docker).waiting_on() == (
        "; the engine says db is running, starting, exit code 0, 0 restarts; its healthcheck "
        "said: booting; web is created, exit code 0, 0 restarts"
    )


def test_a_pulled_image_the_engine_lacks_is_named_too() -> None:
    docker = FakeDocker()
    model = docker.fixed_model()
    model["services"]["cache"] = {"image": "redis:7"}
    docker.fail["compose up"] = docker_error("compose up", 1, "Error: boom")
    with pytest.raises(ComposeFailed) as caught:
        stack(docker).up(build=False, install_local_stack=False)
    assert caught.value.hint.startswith("compose could not get redis:7: set ")
