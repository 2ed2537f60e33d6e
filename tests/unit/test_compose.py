"""The compose stack through python-on-whales: preflight, the model, secrets, URLs,
resources, build and up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smoke import clock
from smoke.clock import FakeClock
from smoke.errors import (
    ComposeConfigInvalid,
    ComposeFailed,
    ComposeMissing,
    ComposeTimedOut,
    DockerUnreachable,
    NoStackRunning,
    PortUnavailable,
)
from smoke.stack.state import Resources
from tests.unit.fakes import PASSWORD, FakeDocker, FakeState, docker_error, stack


def test_preflight_names_the_storage_driver_and_an_unreachable_engine() -> None:
    assert stack(FakeDocker()).preflight() == "overlay2"
    down = FakeDocker(engine_up=False)
    with pytest.raises(DockerUnreachable) as caught:
        stack(down, DOCKER_HOST="tcp://127.0.0.1:1").preflight()
    assert str(caught.value) == (
        "the docker engine at tcp://127.0.0.1:1 (DOCKER_HOST) is unreachable (docker info exited 1)"
    )
    assert caught.value.hint == (
        "start the engine there, or point DOCKER_HOST at one that runs "
        "(unset it for this machine's own)"
    )


def test_an_unreachable_engine_names_the_context_or_the_default_it_tried(tmp_path: Path) -> None:
    down = FakeDocker(engine_up=False)
    with pytest.raises(DockerUnreachable) as caught:
        stack(down, DOCKER_CONTEXT="staging", HOME=str(tmp_path)).preflight()
    assert "the docker engine of docker context staging (DOCKER_CONTEXT)" in str(caught.value)
    assert caught.value.hint == "start that context's engine, or `docker context use default`"
    with pytest.raises(DockerUnreachable) as caught:
        stack(down, DOCKER_CONFIG=str(tmp_path)).preflight()  # no config: no context
    assert str(caught.value).startswith(
        "the docker engine at unix:///var/run/docker.sock (the default: no DOCKER_HOST or "
        "context is set) is unreachable"
    )
    assert "set DOCKER_HOST to one that runs" in caught.value.hint


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


def test_urls_follow_the_engine() -> None:
    docker = FakeDocker(running=True, host_ip="0.0.0.0")
    assert stack(docker).url("web") == "http://127.0.0.1:3000"
    far = stack(docker, DOCKER_HOST="tcp://10.231.0.2:2375")
    assert far.url("chat") == "http://10.231.0.2:8000"
    v6 = stack(docker, DOCKER_HOST="tcp://[fd00::2]:2375")
    assert v6.url("chat") == "http://[fd00::2]:8000"


def test_no_port_yet_is_port_unavailable() -> None:
    stopped = FakeDocker(running=False)
    with pytest.raises(
        PortUnavailable,
        match=r"^web has no published port yet \(no running container; is it restarting\?\)$",
    ):
        stack(stopped).url("web")
    assert "container inspect" not in stopped.calls  # nothing listed, nothing to inspect
    restarting = FakeDocker(running=True, port_failures=1)
    with pytest.raises(
        PortUnavailable,
        match=r"^chat has no published port yet \(its container is running; is it restarting\?\)$",
    ):
        stack(restarting).url("chat")
    assert stack(restarting).url("chat") == "http://127.0.0.1:8000"  # bound again


def test_a_url_goes_to_the_address_the_port_is_bound_to() -> None:
    bound = FakeDocker(running=True, host_ip="10.1.2.3")
    assert stack(bound).url("web") == "http://10.1.2.3:3000"
    every = FakeDocker(running=True, host_ip="")  # no address said: every interface
    assert stack(every).url("chat") == "http://127.0.0.1:8000"


def test_a_container_removed_between_the_listing_and_the_inspect_is_not_there() -> None:
    docker = FakeDocker(running=True)
    docker.inspector.containers = lambda ids: []  # gone when inspected
    assert stack(docker).state("chat") is None
    with pytest.raises(PortUnavailable, match=r"^chat has no published port yet \(no running"):
        stack(docker).url("chat")


def test_a_port_the_file_does_not_publish_is_said_so() -> None:
    docker = FakeDocker(running=True)
    unpublished = docker.inspector.containers

    def without_bindings(ids: list[str]) -> list[Any]:
        found = unpublished(ids)
        for container in found:
            container.host_config.port_bindings = {}
        return found

    docker.inspector.containers = without_bindings
    with pytest.raises(PortUnavailable, match=r"^web has no published port in project p$"):
        stack(docker).url("web")


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
        (docker.env.get("CHAT_INSTALL_LOCAL_STACK"), docker.env.get("CHAT_IMAGE_TAG"))
    )
    stack(docker).build(install_local_stack=True)
    stack(docker).build(install_local_stack=False)
    assert seen == [("1", "local"), ("0", "lite")]
    after = {name: os.environ.get(name) for name in before}
    assert after == before  # only compose's process saw them: this one's is untouched
    docker.fail["compose up"] = docker_error("compose up", 18, "Error: image not found")
    with pytest.raises(ComposeFailed) as caught:
        stack(docker).up(build=False, install_local_stack=False)
    assert (str(caught.value), caught.value.return_code) == ("compose up failed (exit 18)", 18)
    assert caught.value.stderr == "Error: image not found"


def test_a_build_that_says_its_steps_streams_plain_progress_of_the_services_asked() -> None:
    seen: list[tuple[Any, ...]] = []
    docker = FakeDocker()

    def build(services: Any = None, **kwargs: Any) -> Any:
        env = docker.env
        seen.append((services, env.get("COMPOSE_PROGRESS"), env.get("CHAT_IMAGE_TAG"), kwargs))
        return iter([("stderr", b"#6 [chat stage-1 2/4] RUN uv pip install\n")])

    docker.compose.build = build
    said: list[str] = []
    stack(docker).build(install_local_stack=True, services=("chat",), say=said.append)
    assert seen == [(["chat"], "plain", "local", {"stream_logs": True})]
    assert said == ["building chat: step 2/4 of stage-1, RUN uv pip install"]
    seen.clear()
    stack(docker).up(build=True, install_local_stack=True, services=("chat",))
    assert seen == [(["chat"], None, "local", {"quiet": True})]  # quiet: no progress asked


def test_the_timelines_containers_come_in_the_order_the_engine_created_them() -> None:
    from datetime import UTC, datetime

    def at(second: int) -> datetime:
        return datetime(2026, 12, 4, 10, 0, second, tzinfo=UTC)

    docker = FakeDocker(running=True)
    docker.states = {"db": FakeState(created=at(3)), "web": FakeState(created=at(1))}
    times = stack(docker).times()
    assert [(t.service, t.created) for t in times] == [
        ("chat", None),  # the engine did not say: first, by name
        ("web", at(1).timestamp()),
        ("db", at(3).timestamp()),
    ]


def test_up_is_bounded_and_says_what_compose_waits_for(fake_clock: FakeClock) -> None:
    docker = FakeDocker()
    docker.compose.up = lambda *a, **k: clock.sleep(5)  # waits on a dependency's health
    docker.running = True
    docker.states["chat"] = FakeState(
        "running", 0, health="unhealthy", health_output="wget: not found"
    )
    started = fake_clock.monotonic()
    with pytest.raises(ComposeTimedOut) as caught:
        stack(docker).up(build=False, install_local_stack=False, timeout=0.2)
    assert fake_clock.monotonic() - started == pytest.approx(0.2)  # the deadline, not 5 s
    assert str(caught.value) == (
        "compose up did not finish within 0.2s (--timeout); the engine says chat is "
        "running, unhealthy, exit code 0, 0 restarts; its healthcheck said: wget: not found"
    )
    assert caught.value.failure_class == "compose up timeout"
    assert caught.value.hint == (
        "compose waits for the health of the services others depend on: see what the "
        "engine says of them above, and their log lines below"
    )


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
    assert caught.value.hint == (
        "compose could not get python:3.12-slim: set SMOKE_PYTHON_IMAGE / SMOKE_DB_IMAGE to "
        "images this engine has, or run `bash .ci/setup` to build local ones"
    )
    assert caught.value.stderr == "Error: boom"


def test_listening_asks_inside_the_container_and_may_not_know() -> None:
    docker = FakeDocker(running=True)
    assert stack(docker).listening("chat") == "anywhere"
    execs = [args for name, args, _ in docker.asked if name == "container execute"]
    assert execs[0] == ("id-chat", ["cat", "/proc/net/tcp"])
    docker.states["chat"] = FakeState(listening=False)
    assert stack(docker).listening("chat") == "nowhere"
    docker.states["chat"] = FakeState(listening="loopback")
    assert stack(docker).listening("chat") == "loopback"
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
