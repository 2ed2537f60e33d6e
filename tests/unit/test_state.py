"""What the engine says of a service: its state, and whether it listens inside its container."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from smoke.stack.state import ContainerTimes, ServiceState
from tests.unit.fakes import FakeDocker, FakeState, docker_error, stack

TCP_TABLE = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
    "   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"
    "   1: 00000000:0BB8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0\n"
)


def test_the_engines_view_of_a_service() -> None:
    docker = FakeDocker(running=True)
    docker.states["chat"] = FakeState("restarting", 3, restarts=2, restart_policy="always")
    assert stack(docker).state("chat") == ServiceState(
        "restarting",
        3,
        2,
        None,
        "always",
        "id-chat",
        "2026-11-25T12:00:00Z",
        config_hash="hash-1",
        image="sha256:image-1",
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
    # Under a memory limit, with no OOM kill flagged: the limit is said as a lead.
    limited = ServiceState("exited", 137, 0, None, "", memory_limit=48 * 2**20)
    assert limited.ending() == (
        "was killed (exit code 137, SIGKILL; memory limit 48 MiB, no OOM kill flagged)"
    )
    healthy = ServiceState("running", None, 1, "healthy", "")
    assert healthy.describe() == "running, healthy, exit code None, 1 restarts"


@pytest.mark.parametrize(
    ("port", "listens"),
    [("1F40", "loopback"), ("0BB8", "nowhere"), ("1F41", "nowhere"), ("0A", "nowhere")],
)
def test_a_listener_is_read_from_the_kernels_table(port: str, listens: str) -> None:
    from smoke.stack.state import listens as reads_listener

    # Only 127.0.0.1:8000 listens: on loopback, so another port is not "elsewhere".
    assert reads_listener(TCP_TABLE, port) == listens
    assert reads_listener(TCP_TABLE.splitlines()[0], "1F40") == "nowhere"  # the header alone


@pytest.mark.parametrize(
    ("address", "where"),
    [
        ("00000000", "anywhere"),
        ("0100007F", "loopback"),  # 127.0.0.1
        ("0B00007F", "loopback"),  # 127.0.0.11
        ("0F02000A", "anywhere"),  # 10.0.2.15
        ("00000000000000000000000000000000", "anywhere"),  # ::
        ("00000000000000000000000001000000", "loopback"),  # ::1
        ("0000000000000000FFFF00000100007F", "loopback"),  # ::ffff:127.0.0.1
    ],
)
def test_where_a_listener_listens_is_read_from_its_address(address: str, where: str) -> None:
    from smoke.stack.state import listens

    table = f"sl local rem st\n 0: {address}:1F40 00000000:0000 0A\n"
    assert listens(table, "1F40") == where
    # One socket on every address is enough, whatever else listens on loopback.
    both = table + " 1: 0100007F:1F40 00000000:0000 0A\n"
    assert listens(both, "1F40") == ("loopback" if where == "loopback" else "anywhere")


def test_an_oom_kill_without_a_limit_of_its_own_says_so() -> None:
    state = ServiceState("exited", 137, 0, None, "no", oom_killed=True)
    assert state.ending() == "was OOM-killed (no memory limit of its own, exit code 137)"


def test_the_healthchecks_last_words_are_said_not_its_first() -> None:
    """A failing healthcheck's traceback: the error is on its last line."""
    output = "Traceback (most recent call last):\n" + '  File "check.py", line 1\n' * 20
    output += "ConnectionRefusedError: [Errno 111] Connection refused\n"
    state = ServiceState("running", 0, 0, "unhealthy", "no", health_output=output)
    said = state.describe().split("its healthcheck said: ", 1)[1]
    assert len(said) == 200
    assert said.startswith("…")
    assert said.endswith("ConnectionRefusedError: [Errno 111] Connection refused")
    short = ServiceState("running", 0, 0, "unhealthy", "no", health_output="x" * 200)
    assert short.describe().endswith("its healthcheck said: " + "x" * 200)


def test_a_four_field_listen_row_counts() -> None:
    from smoke.stack.state import listens

    assert listens("sl local rem st\n 0: 00000000:1F40 00000000:0000 0A\n", "1F40") == "anywhere"
    assert listens("sl local rem st\n 0: 00000000:1F40 00000000:0000\n", "1F40") == "nowhere"


def test_a_thing_removed_between_listing_and_naming_is_skipped_not_the_rest() -> None:
    from types import SimpleNamespace

    from smoke.stack.state import named
    from tests.unit.fakes import docker_error

    class Gone:
        id = "id-gone"

        @property
        def name(self) -> str:
            raise docker_error("container inspect", 1, "No such container")

    found = [SimpleNamespace(name="a", id="1"), Gone(), SimpleNamespace(name="c", id="3")]
    assert named(found, True) == ("a", "c")
    assert named(found, False) == ("1", "3", "id-gone")


def test_a_listener_in_the_ipv6_table_is_found_when_the_ipv4_one_cannot_be_read() -> None:
    docker = FakeDocker(running=True)

    def execute(container: str, command: list[str]) -> str:
        if command[-1] == "/proc/net/tcp":
            raise docker_error("exec", 1, "no such file")
        return "sl local rem st\n 0: 00000000000000000000000000000000:1F40 0:0 0A x\n"

    docker.container.execute = execute
    assert stack(docker).listening("chat") == "anywhere"


def _inspected(health: object = None, finished: object = None) -> SimpleNamespace:
    """A container as python-on-whales inspects it: datetimes, the engine's zero time."""
    return SimpleNamespace(
        id="c1",
        created=datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC),
        restart_count=0,
        state=SimpleNamespace(
            status="exited",
            exit_code=0,
            health=health,
            started_at=datetime(2026, 12, 4, 10, 0, 1, tzinfo=UTC),
            finished_at=finished,
            oom_killed=False,
        ),
        host_config=SimpleNamespace(restart_policy=None, memory=0),
        config=SimpleNamespace(labels={"com.docker.compose.config-hash": "h"}, env=None),
        image="sha256:i",
    )


def test_a_containers_times_come_from_the_engine_healthy_at_the_first_passing_check() -> None:
    def check(exit_code: int, second: int | None) -> SimpleNamespace:
        end = None if second is None else datetime(2026, 12, 4, 10, 0, second, tzinfo=UTC)
        return SimpleNamespace(exit_code=exit_code, end=end, output="")

    health = SimpleNamespace(
        status="healthy", log=[check(1, 2), check(0, 4), check(0, 3), check(0, None)]
    )
    times = ContainerTimes.of("db", _inspected(health))
    base = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC).timestamp()
    assert times == ContainerTimes("db", created=base, started=base + 1, healthy=base + 3)
    plain = ContainerTimes.of("web", _inspected())
    assert (plain.service, plain.healthy) == ("web", None)
    never = ContainerTimes.of("job", _inspected(SimpleNamespace(status="starting", log=None)))
    assert never.healthy is None
    zero = _inspected()
    zero.created = datetime(1, 1, 1, tzinfo=UTC)  # the engine's "never"
    assert ContainerTimes.of("x", zero).created is None


def test_a_restarted_containers_healthy_time_is_of_its_latest_start() -> None:
    """Its health log still holds a pass from before it was restarted (at 10:00:01):
    that pass is not this start's."""

    before = SimpleNamespace(
        exit_code=0, end=datetime(2026, 12, 4, 9, 59, 50, tzinfo=UTC), output=""
    )
    after = SimpleNamespace(exit_code=0, end=datetime(2026, 12, 4, 10, 0, 5, tzinfo=UTC), output="")
    health = SimpleNamespace(status="healthy", log=[before, after])
    times = ContainerTimes.of("db", _inspected(health))
    base = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC).timestamp()
    assert times.healthy == base + 5
    assert times.started is not None
    assert times.healthy >= times.started
    only_before = ContainerTimes.of(
        "db", _inspected(SimpleNamespace(status="healthy", log=[before]))
    )
    assert only_before.healthy is None


def test_when_a_container_stopped_reads_as_text_and_never_as_nothing() -> None:
    stopped = ServiceState.of(_inspected(finished=datetime(2026, 12, 4, 10, 11, 12, tzinfo=UTC)))
    assert stopped.finished_at == "2026-12-04T10:11:12+00:00"
    assert ServiceState.of(_inspected(finished=datetime(1, 1, 1, tzinfo=UTC))).finished_at == ""
    assert ServiceState.of(_inspected(finished=None)).finished_at == ""
    assert ServiceState.of(_inspected(finished="2026-12-04T10:11:12Z")).finished_at == (
        "2026-12-04T10:11:12Z"
    )
    assert ServiceState.of(_inspected()).started_at == "2026-12-04 10:00:01+00:00"


def test_a_recreated_container_is_told_apart_by_its_id_and_why_by_hash_then_image() -> None:
    from smoke.stack.state import recreated

    def state(container: str, config_hash: str = "h1", image: str = "i1") -> ServiceState:
        return ServiceState(
            "running", None, 0, None, "", container, config_hash=config_hash, image=image
        )

    before = {"web": state("a"), "chat": state("b"), "db": state("c"), "gone": state("d")}
    after = {
        "web": state("a2", config_hash="h2", image="i2"),
        "chat": state("b2", image="i2"),
        "db": state("c"),  # the same container: started again at most, not recreated
        "new": state("e"),  # a service the kept stack did not have
    }
    assert recreated(before, after) == {
        "web": "its configuration changed",
        "chat": "its image changed",
    }
    assert recreated({"web": state("a")}, {"web": state("a3")}) == {
        "web": "compose replaced its container"
    }


def test_an_image_without_cat_is_read_with_python_or_its_shell() -> None:
    from smoke.stack.state import listening_in

    table = "sl local rem st\n 0: 00000000:1F40 00000000:0000 0A\n"
    readers = ["cat", "python3", "sh"]

    def only(has: str, asked: list[str]) -> SimpleNamespace:
        def execute(container: str, command: list[str]) -> str:
            asked.append(command[0])
            if command[0] != has:
                raise docker_error(f"exec {command[0]}", 127, "executable file not found")
            return table

        return SimpleNamespace(container=SimpleNamespace(execute=execute))

    for has in ("python3", "sh"):
        asked: list[str] = []
        assert listening_in(only(has, asked), "c1", 8000) == "anywhere"
        assert asked[: readers.index(has) + 1] == readers[: readers.index(has) + 1]
    # None of them: it cannot be told, and is said as such.
    assert listening_in(only("nothing", []), "c1", 8000) is None


def test_the_engines_dns_on_loopback_is_not_an_app_listening_elsewhere() -> None:
    from smoke.stack.state import listens

    dns = " 0: 0B00007F:A1B2 00000000:0000 0A\n"  # 127.0.0.11, the embedded resolver
    app_elsewhere = " 1: 00000000:1F41 00000000:0000 0A\n"  # 0.0.0.0:8001
    header = "sl local rem st\n"
    assert listens(header + dns, "1F40") == "nowhere"  # still starting: wait
    assert listens(header + dns + app_elsewhere, "1F40") == "elsewhere"


def test_a_containers_inspection_is_read_whole_and_what_it_lacks_is_empty() -> None:
    from types import SimpleNamespace as Of

    from smoke.stack.state import CONFIG_HASH_LABEL, ServiceState

    def container(**config: object) -> object:
        return Of(
            id="c1",
            image=config.pop("image", "sha256:img"),
            restart_count=2,
            state=Of(
                status="running",
                exit_code=0,
                health=Of(status="healthy", log=[Of(output=None), Of(output=" ok \n")]),
                started_at=config.pop("started_at", "2026-12-07T01:00:00Z"),
                finished_at=None,
                oom_killed=False,
            ),
            host_config=Of(restart_policy=Of(name="on-failure"), memory=64),
            config=Of(env=config.pop("env", None), labels=config.pop("labels", None)),
        )

    read = ServiceState.of(
        container(
            env=[
                "SMOKE_TRACE_EXPORT=otlp",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://h:4318/v1/traces?a=b",
                "EMPTY=",
            ],
            labels={CONFIG_HASH_LABEL: "abc"},
        )
    )
    assert read == ServiceState(
        "running",
        0,
        2,
        "healthy",
        "on-failure",
        container="c1",
        started_at="2026-12-07T01:00:00Z",
        memory_limit=64,
        health_output="ok",
        config_hash="abc",
        image="sha256:img",
        trace_export="otlp",
        trace_endpoint="http://h:4318/v1/traces?a=b",
    )
    bare = ServiceState.of(container(image=None, started_at=None))
    assert (bare.config_hash, bare.image, bare.started_at, bare.trace_export) == ("", "", "", "")
    assert bare.trace_endpoint == ""
