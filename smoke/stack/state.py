"""What the engine says: of a compose project (its resources) and of a service's
container (status, exit code, restarts, health and its last output, OOM), the one
view every diagnosis asks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from smoke.stack.client import ENGINE_ERRORS
from smoke.words import counted

#: The label compose puts on a container: the hash of its service's configuration.
CONFIG_HASH_LABEL = "com.docker.compose.config-hash"


@dataclass(frozen=True)
class Resources:
    """What exists of a compose project in the engine."""

    containers: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.volumes)

    def describe(self) -> str:
        parts = [
            f"{counted(len(items), kind)} ({', '.join(items)})"
            for kind, items in (
                ("container", self.containers),
                ("network", self.networks),
                ("volume", self.volumes),
            )
            if items
        ]
        return ", ".join(parts) if parts else "nothing"


@dataclass(frozen=True)
class ServiceState:
    """What the engine says of a service's container."""

    status: str  # created, running, restarting, exited, paused, dead
    exit_code: int | None
    restarts: int
    health: str | None  # starting, healthy, unhealthy; None without a healthcheck
    restart_policy: str  # "" or "no", always, unless-stopped, on-failure
    #: The container, and when it last started: a change means it is not the same run.
    container: str = ""
    started_at: str = ""
    oom_killed: bool = False
    memory_limit: int = 0  # bytes; 0 without a limit
    #: The last healthcheck's output, when it has one.
    health_output: str = ""
    #: When the container last stopped ("" while it never has).
    finished_at: str = ""
    #: Compose's hash of the service's configuration, and the image the container
    #: runs: what `up` compares to decide to recreate it.
    config_hash: str = ""
    image: str = ""
    #: Where its spans go, as its environment says (contoso_telemetry's settings).
    trace_export: str = ""
    trace_endpoint: str = ""

    @classmethod
    def of(cls, container: Any) -> ServiceState:
        """From python-on-whales' inspection of the container."""
        state = container.state
        policy = container.host_config.restart_policy
        checks = (state.health.log or []) if state.health else []
        env = dict(item.partition("=")[::2] for item in (container.config.env or []))
        return cls(
            status=state.status or "unknown",
            exit_code=state.exit_code,
            restarts=int(container.restart_count or 0),
            health=state.health.status if state.health else None,
            restart_policy=(policy.name or "") if policy else "",
            container=str(container.id),
            started_at=str(state.started_at or ""),
            oom_killed=bool(state.oom_killed),
            memory_limit=int(container.host_config.memory or 0),
            health_output=(checks[-1].output or "").strip() if checks else "",
            finished_at=_stamp(state.finished_at),
            config_hash=str((container.config.labels or {}).get(CONFIG_HASH_LABEL, "")),
            image=str(container.image or ""),
            trace_export=env.get("SMOKE_TRACE_EXPORT", ""),
            trace_endpoint=env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
        )

    @property
    def will_restart(self) -> bool:
        return self.status == "restarting" or self.restart_policy not in ("", "no")

    @property
    def gone_for_good(self) -> bool:
        """Exited (or dead) with no restart policy that brings it back."""
        return self.status in ("exited", "dead") and not self.will_restart

    def same_run_as(self, other: ServiceState) -> bool:
        """The same container, not restarted since ``other`` was seen."""
        return (self.container, self.started_at, self.restarts) == (
            other.container,
            other.started_at,
            other.restarts,
        )

    def ending(self) -> str:
        """How the container ended, as the engine tells it: `exited with code 3`,
        `was killed (exit code 137)`, `was OOM-killed (memory limit 64 MiB)`."""
        limit = f"memory limit {self.memory_limit / 2**20:g} MiB" if self.memory_limit else ""
        if self.oom_killed:
            limited = limit or "no memory limit of its own"
            return f"was OOM-killed ({limited}, exit code {self.exit_code})"
        if self.exit_code == 137 and limit:
            # Some engines never flag an OOM kill (their cgroup's OOM events unread):
            # the limit is the lead the engine's word does not give.
            return f"was killed (exit code 137, SIGKILL; {limit}, no OOM kill flagged)"
        if self.exit_code == 137:
            return "was killed (exit code 137, SIGKILL)"
        return f"exited with code {self.exit_code}"

    def describe(self) -> str:
        health = f", {self.health}" if self.health else ""
        oom = ", OOM-killed" if self.oom_killed else ""
        said = f"{self.status}{health}, exit code {self.exit_code}{oom}, {self.restarts} restarts"
        if self.health_output:
            said += f"; its healthcheck said: {_last_words(self.health_output)}"
        return said


def recreated(before: dict[str, ServiceState], after: dict[str, ServiceState]) -> dict[str, str]:
    """The services whose container `up` replaced, each with why, as compose decides
    it: its configuration's hash or its image changed."""
    why: dict[str, str] = {}
    for service, old in before.items():
        new = after.get(service)
        if new is None or not old.container or new.container == old.container:
            continue
        if old.config_hash != new.config_hash:
            why[service] = "its configuration changed"
        elif old.image != new.image:
            why[service] = "its image changed"
        else:
            why[service] = "compose replaced its container"
    return why


#: How much of a healthcheck's output is said: its end, where the error is.
HEALTH_OUTPUT_CHARS = 200


def _last_words(output: str) -> str:
    """The output on one line, cut from the front: a traceback's last line says why."""
    folded = " ".join(output.split())
    if len(folded) <= HEALTH_OUTPUT_CHARS:
        return folded
    return "…" + folded[-(HEALTH_OUTPUT_CHARS - 1) :]


def _stamp(value: Any) -> str:
    """An engine timestamp as ISO text; the engine's zero time (never) as ""."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "" if text.startswith("0001-01-01") else text


@dataclass(frozen=True)
class ContainerTimes:
    """When a service's container was created, started and first seen healthy (epoch
    seconds, from the engine; healthy among the health log's last entries)."""

    service: str
    created: float | None
    started: float | None
    healthy: float | None = None

    @classmethod
    def of(cls, service: str, container: Any) -> ContainerTimes:
        state = container.state
        started = _epoch(state.started_at)
        checks = (state.health.log or []) if state.health else []
        # Healthy since its latest start: a restarted container's log holds older passes.
        passed = [
            at
            for at in (_epoch(c.end) for c in checks if c.exit_code == 0 and c.end is not None)
            if at is not None and (started is None or at >= started)
        ]
        return cls(
            service=service,
            created=_epoch(container.created),
            started=started,
            healthy=min(passed) if passed else None,
        )


def _epoch(value: Any) -> float | None:
    timestamp = getattr(value, "timestamp", None)
    if timestamp is None or _stamp(value) == "":
        return None
    seconds = float(timestamp())
    return seconds if seconds > 0 else None


#: Where a service listens inside its container on its port: on every address, only
#: on its loopback address (nothing outside the container reaches it), not at all
#: while something listens on another port of a reachable address ("elsewhere"), or
#: not at all.
Listening = Literal["anywhere", "loopback", "elsewhere", "nowhere"]


# Which of two tables' answers stands: a listener on the port over none.
_RANK: dict[Listening, int] = {"nowhere": 0, "elsewhere": 1, "loopback": 2, "anywhere": 3}


def listening_in(docker: Any, container: str, port: int) -> Listening | None:
    """Where something listens on ``port`` inside ``container``, read from the kernel's
    tables there; None when they cannot be read (no `cat` in the image, say)."""
    found: Listening | None = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        text = _read_inside(docker, container, table)
        if text is None:
            continue
        here = listens(text, f"{port:04X}")
        if found is None or _RANK[here] > _RANK[found]:
            found = here
    return found


#: Ways to print a file inside a container, tried in turn: an image may lack `cat`
#: (distroless) and still have Python or a shell.
_READERS = (
    ("cat", "{path}"),
    ("python3", "-c", "import sys; sys.stdout.write(open(sys.argv[1]).read())", "{path}"),
    ("sh", "-c", 'while IFS= read -r line; do echo "$line"; done < "$0"', "{path}"),
)


def _read_inside(docker: Any, container: str, path: str) -> str | None:
    for reader in _READERS:
        try:
            said = docker.container.execute(container, [part.format(path=path) for part in reader])
        except ENGINE_ERRORS:
            continue
        return str(said or "")
    return None


def listens(table: str, port: str) -> Listening:
    """Where a `/proc/net/tcp` table has a socket in LISTEN (0A) on ``port`` (hex)."""
    found: Listening = "nowhere"
    for row in table.splitlines()[1:]:
        fields = row.split()
        if len(fields) <= 3 or fields[3] != "0A":
            continue
        address, _, at = fields[1].rpartition(":")
        if at != port:
            # Another port, on an address others reach (the engine's own DNS listens
            # on 127.0.0.11 in every container of a compose network: not the app).
            if found == "nowhere" and not _is_loopback(address):
                found = "elsewhere"
        elif not _is_loopback(address):
            return "anywhere"
        else:
            found = "loopback"
    return found


def _is_loopback(address: str) -> bool:
    if len(address) == 8:  # IPv4, bytes reversed: 127.0.0.1 is 0100007F
        return address.upper().endswith("7F")
    value = address.upper()
    # IPv6 as four little-endian words: ::1, and ::ffff:127.x.x.x
    return value == "00000000000000000000000001000000" or (
        value.startswith("0000000000000000FFFF0000") and value.endswith("7F")
    )


def named(found: list[Any], names: bool) -> tuple[str, ...]:
    """Names (an inspect each) or ids; an object removed meanwhile is no longer there."""
    if not names:
        return tuple(sorted(item.id for item in found))
    named = []
    for item in found:
        try:
            named.append(item.name)
        except ENGINE_ERRORS:  # removed between the listing and the inspect
            continue
    return tuple(sorted(named))
