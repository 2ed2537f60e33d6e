"""What the smoke asks of python-on-whales, argument by argument. The fake cannot
act out `detach`, `remove_orphans` or `force`; these tests pin the requests that
make the real engine do what the README promises (a detached stack, orphans and
volumes removed, stopped containers seen), and the Docker tests prove the effect."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from smoke.errors import (
    ComposeConfigInvalid,
    ComposeFailed,
    ComposeMissing,
    EngineAddressUnreachable,
    NoStackRunning,
    PortInUse,
)
from smoke.stack import marks
from smoke.stack.compose import Stack
from smoke.stack.state import Resources
from smoke.stack.target import Target
from tests.unit.fakes import FakeDocker, FakeState, docker_error, on_fake, run_marks, stack


def asked(docker: FakeDocker, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    return [(args, kwargs) for call, args, kwargs in docker.asked if call == name]


def test_up_starts_detached_builds_as_told_and_removes_orphans() -> None:
    docker = FakeDocker()
    stack(docker).up(build=True, install_local_stack=False)
    stack(docker).up(build=True, install_local_stack=False, services=("db", "chat"))
    stack(docker).up(build=False, install_local_stack=False, services=("db", "chat"))
    # The build first, unbounded; then `up`, which --timeout bounds, never builds.
    assert asked(docker, "compose build") == [
        ((), {"services": ["chat", "web"], "quiet": True}),
        ((), {"services": ["chat"], "quiet": True}),
    ]
    common = {"detach": True, "quiet": True, "remove_orphans": True, "no_build": True}
    assert asked(docker, "compose up") == [
        ((None,), common),
        ((["db", "chat"],), common),
        ((["db", "chat"],), common),
    ]


def test_build_builds_every_service_the_file_builds_quietly() -> None:
    docker = FakeDocker()
    stack(docker).build(install_local_stack=False)
    assert asked(docker, "compose build") == [((), {"services": ["chat", "web"], "quiet": True})]


def test_down_removes_volumes_and_orphans_within_a_bounded_stop() -> None:
    docker = FakeDocker(running=True)
    stack(docker).down()
    assert asked(docker, "compose down") == [
        ((), {"volumes": True, "remove_orphans": True, "timeout": 5, "quiet": True})
    ]


def test_remove_forces_containers_with_their_volumes_then_networks_and_volumes() -> None:
    docker = FakeDocker(running=True)
    stack(docker).remove(Resources(("c1", "c2"), ("n1",), ("v1",)))
    assert asked(docker, "container remove") == [
        ((["c1", "c2"],), {"force": True, "volumes": True})
    ]
    assert asked(docker, "network remove") == [((["n1"],), {})]
    assert asked(docker, "volume remove") == [((["v1"],), {})]
    docker.asked.clear()
    stack(docker).remove(Resources())
    assert docker.asked == []


def test_the_engines_view_includes_stopped_containers_of_that_service() -> None:
    docker = FakeDocker(running=True)
    docker.states["chat"] = FakeState("exited", 1)
    state = stack(docker).state("chat")
    assert state is not None
    assert (state.status, state.restart_policy) == ("exited", "")
    ((_, kwargs),) = asked(docker, "container list")
    assert kwargs["all"] is True
    assert ("label", "com.docker.compose.service=chat") in kwargs["filters"]
    assert ("label", "com.docker.compose.project=p") in kwargs["filters"]


def test_an_unknown_status_and_no_restart_policy_read_as_such() -> None:
    docker = FakeDocker(running=True)
    docker.states["chat"] = FakeState("")
    original = docker.container.list

    def no_policy(**kwargs: Any) -> list[Any]:
        found = original(**kwargs)
        for container in found:
            container.host_config.restart_policy = None
        return list(found)

    docker.container.list = no_policy
    state = stack(docker).state("chat")
    assert state is not None
    assert (state.status, state.restart_policy) == ("unknown", "")


def test_logs_ask_for_the_services_with_timestamps_and_a_tail() -> None:
    docker = FakeDocker(running=True)
    text = stack(docker).logs(("chat",), tail=1)
    assert text == "chat-1  | 2026-11-25T12:00:02.000000000Z ready\n"
    assert asked(docker, "compose logs") == [
        ((), {"services": ["chat"], "timestamps": True, "tail": "1"})
    ]


def first_of(service: str) -> list[tuple[str, str]]:
    """The filters of a service's first container, never a one-off's."""
    return [
        ("label", f"com.docker.compose.service={service}"),
        ("label", "com.docker.compose.container-number=1"),
        ("label", "com.docker.compose.oneoff=False"),
    ]


def test_urls_read_the_port_of_each_services_first_running_container_in_one_inspect() -> None:
    docker = FakeDocker(running=True)
    assert stack(docker).url("chat") == "http://127.0.0.1:8000"
    assert stack(docker).url("web") == "http://127.0.0.1:3000"
    # What `compose port --index 1` answers for: the first container, never a one-off.
    assert [kwargs for _, kwargs in asked(docker, "container list")] == [
        {
            "all": False,
            "filters": [
                ("label", "com.docker.compose.project=p"),
                ("label", f"com.docker.compose.service={service}"),
                ("label", "com.docker.compose.container-number=1"),
                ("label", "com.docker.compose.oneoff=False"),
            ],
        }
        for service in ("chat", "web")
    ]
    assert [args for args, _ in asked(docker, "container inspect")] == [
        (["id-chat"],),
        (["id-web"],),
    ]
    assert docker.calls == ["container list", "container inspect"] * 2


def test_a_services_state_and_the_projects_states_cost_one_inspect_each() -> None:
    docker = FakeDocker(running=True, states={"db": FakeState(status="exited", exit_code=3)})
    state = stack(docker).state("db")
    assert state is not None
    assert (state.status, state.exit_code) == ("exited", 3)
    states = stack(docker).states()
    assert sorted(states) == ["chat", "db", "web"]
    assert states["db"].exit_code == 3
    times = stack(docker).times()
    assert [t.service for t in times] == ["chat", "db", "web"]
    assert docker.calls == ["container list", "container inspect"] * 3
    project = ("label", "com.docker.compose.project=p")
    assert [kwargs for _, kwargs in asked(docker, "container list")] == [
        {"all": True, "filters": [project, *first_of("db")]},
        {"all": True, "filters": [project]},
        {"all": True, "filters": [project]},
    ]
    assert [args for args, _ in asked(docker, "container inspect")] == [
        (["id-db"],),
        (["id-db", "id-chat", "id-web"],),
        (["id-db", "id-chat", "id-web"],),
    ]


def test_marks_are_volumes_named_and_labelled_for_the_project() -> None:
    docker = FakeDocker()
    s = stack(docker)
    marks.claim_mark(s, {"io.contoso-smoke.run": "p"})
    assert asked(docker, "volume create") == [
        (("p_smoke-run",), {"labels": {"io.contoso-smoke.run": "p"}})
    ]
    assert "volume inspect" not in docker.calls  # the created volume is its own answer
    other = on_fake(Target("q", (Path("docker-compose.yml"),)), docker)
    marks.unmark(other)  # another project's mark stays
    assert "p_smoke-run" in docker.volumes
    marks.unmark(s)
    assert "p_smoke-run" not in docker.volumes


def test_an_image_size_is_of_the_plain_image_unless_asked() -> None:
    docker = FakeDocker()
    assert stack(docker).images.size("chat") == 123_000_000


def test_compose_missing_names_the_exit_code_and_how_to_install() -> None:
    docker = FakeDocker()
    docker.fail["compose config"] = docker_error("compose config", 1, "unknown command")
    docker.fail["compose version"] = docker_error("compose version", 125, "not a command")
    with pytest.raises(ComposeMissing) as caught:
        stack(docker).config()
    assert str(caught.value) == "Docker Compose v2 is missing (`docker compose version` exited 125)"
    assert caught.value.hint == "install the compose plugin (e.g. `bash .ci/compose-plugin.sh`)"


def test_no_stack_running_says_how_to_keep_one() -> None:
    with pytest.raises(NoStackRunning) as caught:
        stack(FakeDocker()).require_running()
    assert caught.value.hint == "start one with `nox -s smoke_lite -- --keep-stack`"


def test_resources_are_something_when_any_kind_is_left() -> None:
    assert Resources(networks=("n",))
    assert Resources(containers=("c",))
    assert Resources(volumes=("v",))


def test_a_non_default_context_is_asked_where_its_engine_is() -> None:
    docker = FakeDocker(running=True, context_host="tcp://10.0.0.5:2375", host_ip="0.0.0.0")
    far = stack(docker, DOCKER_CONTEXT="build-box")
    assert far.url("chat") == "http://10.0.0.5:8000"
    assert "context inspect" in docker.calls
    near = FakeDocker(running=True, context_host="")
    assert stack(near, DOCKER_CONTEXT="build-box").url("chat") == "http://127.0.0.1:8000"
    other = FakeDocker(running=True)
    other.context.inspect = lambda name: SimpleNamespace(endpoints={})
    assert stack(other, DOCKER_CONTEXT="x").url("web") == "http://127.0.0.1:3000"


def test_a_taken_port_after_an_ephemeral_one_is_still_found(listener: int) -> None:
    docker = FakeDocker(published={"web": "0", "chat": str(listener)})
    with pytest.raises(PortInUse, match=rf"^port 127.0.0.1:{listener} for chat is already"):
        stack(docker).check_ports()


def test_a_port_published_on_every_interface_is_checked_on_all_of_them(listener: int) -> None:
    docker = FakeDocker(published={"web": str(listener), "chat": ""}, host_ip="")
    with pytest.raises(PortInUse) as caught:
        stack(docker).check_ports()
    assert str(caught.value) == f"port 0.0.0.0:{listener} for web is already in use"


def test_a_remote_engines_loopback_ports_are_all_named() -> None:
    docker = FakeDocker()
    original = docker.compose.config

    def two_loopbacks(**kwargs: Any) -> dict[str, Any]:
        model: dict[str, Any] = original(**kwargs)
        model["services"]["chat"]["ports"][0]["host_ip"] = "::1"
        return model

    docker.compose.config = two_loopbacks
    with pytest.raises(EngineAddressUnreachable) as caught:
        stack(docker, DOCKER_HOST="tcp://10.231.0.2:2375").check_ports()
    assert "loopback (127.0.0.1, ::1), which" in str(caught.value)
    assert caught.value.hint == (
        "set SMOKE_BIND_ADDRESS=0.0.0.0 (or an address of that host) and, "
        "if this machine reaches that host by another address, SMOKE_HOST"
    )


def test_compose_failures_keep_stdout_when_stderr_is_empty() -> None:
    docker = FakeDocker()
    docker.fail["compose up"] = DockerException(
        ["docker", "compose", "up"], 1, b"  pull access denied  ", b""
    )
    with pytest.raises(ComposeFailed) as caught:
        stack(docker).up(build=False, install_local_stack=False)
    assert caught.value.stderr == "pull access denied"


def test_no_docker_cli_and_no_engine_say_what_to_do() -> None:
    from python_on_whales.client_config import ClientNotFoundError

    from smoke.errors import DockerUnreachable

    docker = FakeDocker()
    docker.fail["info"] = ClientNotFoundError()
    with pytest.raises(DockerUnreachable) as caught:
        stack(docker).preflight()
    assert str(caught.value) == "the docker CLI was not found"
    assert caught.value.hint == "install Docker and put `docker` on PATH"
    with pytest.raises(DockerUnreachable) as caught:
        stack(FakeDocker(engine_up=False), DOCKER_CONFIG="/nonexistent").preflight()
    assert caught.value.hint == (
        "start the engine (e.g. `dockerd &` or Docker Desktop), or set DOCKER_HOST to one that runs"
    )


def test_an_engine_that_names_no_storage_driver_says_unknown() -> None:
    docker = FakeDocker()
    docker.system.info = lambda: SimpleNamespace(driver="")
    assert stack(docker).preflight() == "unknown"


def test_a_stack_drives_compose_with_its_files_and_project() -> None:
    made = Stack(Target("proj", (Path("a.yml"), Path("b.yml"))))
    config = made.docker.client_config
    assert config.compose_files == [Path("a.yml"), Path("b.yml")]
    assert config.compose_project_name == "proj"
    assert config.compose_profiles == []
    with_options = Target("p", (Path("a.yml"),), profiles=("extra",), env_files=(Path("ci.env"),))
    config = Stack(with_options).docker.client_config
    assert config.compose_profiles == ["extra"]
    assert config.compose_env_files == [Path("ci.env")]


def test_secrets_skip_empty_values_and_go_on() -> None:
    docker = FakeDocker()
    model = docker.fixed_model()
    model["services"]["chat"]["environment"] = {"A_PASSWORD": "", "B_PASSWORD": "s3cret-b"}
    assert "s3cret-b" in stack(docker).secrets()


def test_the_project_listing_includes_its_volumes_by_name() -> None:
    docker = FakeDocker(running=True)
    docker.volumes["p_data"] = {"com.docker.compose.project": "p"}
    assert stack(docker).resources(names=False).volumes == ("p_data",)


def test_without_an_env_the_stack_reads_the_process_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://192.0.2.8:2375")
    made = Stack(
        Target("p", (Path("docker-compose.yml"),)), docker=cast(DockerClient, FakeDocker())
    )
    assert made.engine().remote_address == "192.0.2.8"


def test_an_invalid_model_without_words_says_so() -> None:
    docker = FakeDocker()
    docker.fail["compose config"] = docker_error("compose config", 15, "")
    with pytest.raises(ComposeConfigInvalid) as caught:
        stack(docker).config()
    assert str(caught.value) == "invalid compose configuration: no details"


def test_a_model_without_services_has_no_secrets_and_no_ports() -> None:
    docker = FakeDocker()
    docker.compose.config = lambda **kw: {"name": "p"}
    assert stack(docker).secrets() == ()
    stack(docker).check_ports()


def test_a_port_without_a_published_number_is_ephemeral() -> None:
    docker = FakeDocker()
    original = docker.compose.config

    def unpublished(**kwargs: Any) -> dict[str, Any]:
        model: dict[str, Any] = original(**kwargs)
        del model["services"]["web"]["ports"][0]["published"]
        return model

    docker.compose.config = unpublished
    stack(docker).check_ports()


def test_marks_are_read_for_this_project_only() -> None:
    docker = FakeDocker()
    docker.volumes["q_smoke-run"] = {"io.contoso-smoke.run": "q"}
    docker.volumes["p_smoke-run"] = {"io.contoso-smoke.run": "p"}
    assert run_marks(docker) == [{"io.contoso-smoke.run": "p"}]


def test_stopped_containers_count_as_the_stack() -> None:
    docker = FakeDocker(running=True)
    for service in ("db", "chat", "web"):
        docker.states[service] = FakeState("exited", 0)
    assert stack(docker).containers() == ("id-db", "id-chat", "id-web")
    assert stack(docker).resources().containers == ("p-chat-1", "p-db-1", "p-web-1")
    other = on_fake(Target("q", (Path("docker-compose.yml"),)), docker)
    assert other.containers() == ()
    assert not other.resources()
