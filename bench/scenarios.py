"""The scenarios the benchmark times, each a callable that returns a ``Sample``: the
harness, raw compose, its peers, the floor, the full profile, the local stack, an
earlier release, a cold run.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from python_on_whales import DockerClient

from smoke.checks.probes import QUESTION as SMOKE_QUESTION
from smoke.plan import PARAPHRASES
from smoke.stack.logs import logged_at

ROOT = Path(__file__).resolve().parent.parent


WEB_PORT, CHAT_PORT, DB_PORT = 13000, 18000, 15432  # fixed and unusual: curl needs no lookup


WEB = f"http://127.0.0.1:{WEB_PORT}"


CHAT = f"http://127.0.0.1:{CHAT_PORT}"


QUESTION = {"question": SMOKE_QUESTION}  # the smoke's own


ENV = {**os.environ, "SMOKE_WEB_PORT": str(WEB_PORT), "SMOKE_CHAT_PORT": str(CHAT_PORT)}


READY_LINE = "Application startup complete."


DB_PUBLISHED = ROOT / "tests/compose/db-published.yml"


RAW = "raw compose (up --wait, curl, down -v)"


HARNESS = "harness: python -m smoke run --profile lite"


NO_REAPER = "harness, --no-reaper"


NOX_LITE = "nox -s smoke_lite (reused venv)"


FULL = "harness: --profile full (browser)"


LOCAL = "harness: --profile full --install-local-stack"


EARLIER = "earlier release's harness and stack, --no-build, at"


LEAN = "lean: up -d, curl polls every 50 ms, the checks, down -v"


EARLIER_FULL = "earlier release's --profile full, --no-build, at"


NEW_PROJECT_BUILD = "a new project's first build (smoke build, cache warm)"


def named(project: str) -> str:
    """A project of the bench's: `bench-<name>`, or under SMOKE_BENCH_PREFIX (the tests
    give each run its own, so a bench never meets another one's stacks or images)."""
    return f"{os.environ.get('SMOKE_BENCH_PREFIX') or 'bench'}-{project}"


# Images are the project's own (<project>-<service>): each project the bench runs
# builds its images before timing, from the build cache. (flag, projects)
WARM_BUILDS = (
    ((), (named("harness"), named("no-reaper"), named("nox"), named("raw"), named("floor"))),
    ((), (named("lean"),)),
    ((), (named("pytest-docker"), named("full"), named("tc"))),
    (("--install-local-stack",), (named("full-local"), named("local"))),
)


# Paraphrases the local stack must place first: the smoke's own semantic step's.
RETRIEVAL_QUESTIONS = tuple(question for question, _ in PARAPHRASES)


@dataclass
class Sample:
    total: float
    parts: dict[str, float] = field(default_factory=dict)


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    cwd: Path = ROOT,
) -> str:
    completed = subprocess.run(
        cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {completed.returncode}:\n{completed.stdout}{completed.stderr}"
        )
    return completed.stdout


def smoke(*args: str) -> list[str]:
    return [sys.executable, "-m", "smoke", *args]


def compose(project: str, *args: str, files: tuple[Path, ...] = ()) -> list[str]:
    flags = [f for path in files for f in ("-f", str(path))]
    if flags:
        flags = ["-f", str(ROOT / "docker-compose.yml"), *flags]
    return ["docker", "compose", *flags, "-p", project, *args]


#: The three checks, as curl arguments.
CURL_CHECKS = (
    (f"{CHAT}/health",),
    (f"{CHAT}/health/dependencies",),
    (
        *("-X", "POST", "-H", "content-type: application/json"),
        *("-d", json.dumps(QUESTION), f"{WEB}/api/chat/service"),
    ),
)


def http_checks(client: httpx.Client) -> None:
    for response in (
        client.get(f"{CHAT}/health"),
        client.get(f"{CHAT}/health/dependencies"),
        client.post(f"{WEB}/api/chat/service", json=QUESTION),
    ):
        response.raise_for_status()


def chat_ready_at(logs: str) -> float | None:
    for line in logs.splitlines():
        if line.startswith("chat") and READY_LINE in line:
            return logged_at(line)
    return None


def metrics(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def poll(check: Callable[[], bool], within: float = 60) -> float:
    """Seconds until ``check`` holds, polling every 20 ms."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            raise RuntimeError(f"not ready within {within:g}s")
        time.sleep(0.02)
    return time.monotonic() - started


def answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    return check


def harness(*extra: str, project: str = "") -> Callable[[], Sample]:
    project = project or named("harness")

    def scenario() -> Sample:
        with tempfile.TemporaryDirectory() as tmp:
            log, metrics_file = Path(tmp) / "e2e-compose.log", Path(tmp) / "e2e-metrics.txt"
            args = ["--project", project, "--log-file", str(log), "--metrics-file"]
            started = time.monotonic()
            run(smoke("run", "--profile", "lite", *args, str(metrics_file), *extra))
            total = time.monotonic() - started
            values = metrics(metrics_file)
            parts = step_seconds(values)
            if "specs_seconds" in values:  # judging the trace specs, in-process
                parts["specs_judged"] = float(values["specs_seconds"])
            ready = chat_ready_at(log.read_text())
            if ready is not None:
                parts["readiness_lag"] = float(values["step_chat_health_finished_at"]) - ready
            return Sample(total, parts)

    return scenario


def step_seconds(values: dict[str, str]) -> dict[str, float]:
    """Each step's seconds from a run's metrics file (`step_<name>_seconds=…`)."""
    return {
        k.removeprefix("step_").removesuffix("_seconds"): float(v)
        for k, v in values.items()
        if k.startswith("step_") and k.endswith("_seconds")
    }


def full_profile(*extra: str, project: str) -> Callable[[], Sample]:
    """A full run (its profile replaces --profile lite), timed the same way."""

    def scenario() -> Sample:
        with tempfile.TemporaryDirectory() as tmp:
            metrics_file = Path(tmp) / "e2e-metrics.txt"
            started = time.monotonic()
            run(
                smoke(
                    "run",
                    "--profile",
                    "full",
                    "--no-build",
                    "--project",
                    project,
                    "--log-file",
                    str(Path(tmp) / "e2e-compose.log"),
                    "--metrics-file",
                    str(metrics_file),
                    *extra,
                )
            )
            total = time.monotonic() - started
            values = metrics(metrics_file)
            parts = step_seconds(values)
            return Sample(total, parts)

    return scenario


def new_project_build() -> Sample:
    """A checkout's first build under a project of its own, the code unchanged: the
    build cache serves it. Its images are removed after (not timed)."""
    project = named(f"new-{time.monotonic_ns()}")
    started = time.monotonic()
    run(smoke("build", "--project", project))
    total = time.monotonic() - started
    run(smoke("teardown", "--project", project, "--images"))
    return Sample(total)


def nox_smoke_lite() -> Sample:
    started = time.monotonic()
    run([sys.executable, "-m", "nox", "-s", "smoke_lite", "--", "--project", named("nox")])
    return Sample(time.monotonic() - started)


def raw_baseline() -> Sample:
    project = named("raw")
    t0 = time.monotonic()
    run(compose(project, "up", "-d", "--wait"))
    t1 = time.monotonic()
    for args in CURL_CHECKS:
        run(["curl", "-fsS", "-o", "/dev/null", *args])
    t2 = time.monotonic()
    logs = run(compose(project, "logs", "-t", "chat"))  # not timed: for the lag only
    t3 = time.monotonic()
    run(compose(project, "down", "-v"))
    t4 = time.monotonic()
    parts = {"up_wait": t1 - t0, "checks": t2 - t1, "teardown": t4 - t3}
    ready = chat_ready_at(logs)
    if ready is not None:
        parts["readiness_lag"] = (time.time() - (time.monotonic() - t1)) - ready
    return Sample((t2 - t0) + (t4 - t3), parts)


def testcontainers_compose() -> Sample:
    from testcontainers.compose import DockerCompose

    os.environ.update({k: v for k, v in ENV.items() if k.startswith("SMOKE_")})
    os.environ["COMPOSE_PROJECT_NAME"] = named("tc")
    try:
        started = time.monotonic()
        stack = DockerCompose(context=str(ROOT), compose_file_name="docker-compose.yml", wait=True)
        with stack, httpx.Client() as client:
            http_checks(client)
        return Sample(time.monotonic() - started)
    finally:
        os.environ.pop("COMPOSE_PROJECT_NAME", None)


def pytest_docker_style() -> Sample:
    project = named("pytest-docker")
    started = time.monotonic()
    run(compose(project, "up", "--build", "-d", "--wait"))
    with httpx.Client() as client:
        deadline = time.monotonic() + 60
        while True:  # wait_until_responsive(pause=0.1), as pytest-docker does
            try:
                if client.get(f"{CHAT}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chat never became responsive")
            time.sleep(0.1)
        http_checks(client)
    run(compose(project, "down", "-v"))
    return Sample(time.monotonic() - started)


def lean_run() -> Sample:
    """The leanest run of the harness's work: `up -d` of built images, curl polling
    each check every 50 ms until it answers, the proxy call, `down -v`."""
    project = named("lean")
    started = time.monotonic()
    run(compose(project, "up", "-d", "--no-build"))
    for args in CURL_CHECKS:
        deadline = time.monotonic() + 60
        curl = ["curl", "-fsS", "-o", "/dev/null", *args]
        while subprocess.run(curl, capture_output=True, check=False).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"curl {' '.join(args)}: no answer within 60s")
            time.sleep(0.05)
    run(compose(project, "down", "-v"))
    return Sample(time.monotonic() - started)


def floor() -> Sample:
    """What no harness can beat: db alone ready, one service alone ready, a `down`
    of the bare stack (no harness, no checks)."""
    parts: dict[str, float] = {}
    project = named("floor")
    env = {**ENV, "SMOKE_TEST_DB_PORT": str(DB_PORT)}
    db_password()  # read before the clock starts
    started = time.monotonic()
    run(compose(project, "up", "-d", "db", files=(DB_PUBLISHED,)), env=env)
    parts["db_alone_ready"] = (time.monotonic() - started) + poll(db_accepts)
    run(compose(project, "down", "-v", files=(DB_PUBLISHED,)), env=env)
    started = time.monotonic()
    run(compose(project, "up", "-d", "web"))
    parts["service_alone_ready"] = (time.monotonic() - started) + poll(answers(f"{WEB}/health"))
    run(compose(project, "down", "-v"))
    run(compose(project, "up", "-d"))
    started = time.monotonic()
    run(compose(project, "down", "-v"))
    parts["bare_down"] = time.monotonic() - started
    return Sample(sum(parts.values()), parts)


@functools.cache
def db_password() -> str:
    config = DockerClient(compose_files=[ROOT / "docker-compose.yml"]).compose.config(
        return_json=True
    )
    return str(config["services"]["db"]["environment"]["POSTGRES_PASSWORD"])


def db_accepts() -> bool:
    import psycopg

    password = db_password()
    try:
        psycopg.connect(
            host="127.0.0.1",
            port=DB_PORT,
            user="contoso",
            password=password,
            dbname="contoso",
            connect_timeout=1,
        ).close()
    except psycopg.Error:
        return False
    return True


LOCAL_ENV = {"CHAT_IMAGE_TAG": "local", "CHAT_INSTALL_LOCAL_STACK": "1"}


def model_ready(project: str, runs: int, cwd: Path = ROOT) -> list[float]:
    """Seconds from the local chat container's start to its /health answering (its
    model loaded), ``runs`` fresh starts beside a fresh db, in the tree at ``cwd``."""
    env = {**ENV, **LOCAL_ENV}
    docker = DockerClient(compose_files=[cwd / "docker-compose.yml"], compose_project_name=project)
    ready = []
    for _ in range(runs):
        run(compose(project, "up", "-d", "--no-build", "chat"), env=env, cwd=cwd)
        poll(answers(f"{CHAT}/health"))
        noticed = time.time()
        started_at = docker.container.inspect(f"{project}-chat-1").state.started_at
        assert started_at is not None
        # An upper bound: polling notices within 20 ms of the model being ready.
        ready.append(noticed - started_at.timestamp())
        run(compose(project, "down", "-v"), env=env, cwd=cwd)
    return ready


def local_stack_figures(runs: int) -> dict[str, float]:
    """Model ready after the chat container starts (median and slowest of ``runs``
    fresh starts beside a fresh db), and retrieval latency over 100 questions, on a
    kept local stack."""
    project = named("local")
    env = {**ENV, **LOCAL_ENV}
    figures: dict[str, float] = {}
    try:
        ready = model_ready(project, runs)
        figures["model_ready_seconds"] = statistics.median(ready)
        figures["model_ready_slowest_seconds"] = max(ready)
        run(compose(project, "up", "-d", "--no-build"), env=env)
        poll(lambda: answers(f"{CHAT}/health/dependencies")())
        latencies = []
        with httpx.Client(timeout=10) as client:
            for index in range(100):
                question = RETRIEVAL_QUESTIONS[index % len(RETRIEVAL_QUESTIONS)]
                started = time.perf_counter()
                client.post(f"{CHAT}/api/chat", json={"question": question}).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
        latencies.sort()
        figures["retrieval_median_ms"] = statistics.median(latencies)
        figures["retrieval_p95_ms"] = latencies[94]
    finally:
        run(compose(project, "down", "-v"), env=env)
    return figures


def earlier_release(rev: str, workdir: Path, profile: str = "lite") -> Callable[[], Sample]:
    """The harness and stack of commit ``rev``, exported next to this one with its
    images under a project of their own, timed like ``harness --no-build`` (or the
    full profile's run): the same machine, the same run, so a regression shows as a
    ratio, not as a guess."""
    tree = workdir / f"at-{rev}"
    if not tree.is_dir():
        tree.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", rev], cwd=ROOT, capture_output=True, check=True, timeout=120
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        if (ROOT / ".env").is_file():
            (tree / ".env").write_text((ROOT / ".env").read_text())
        run(["docker", "compose", "-p", named("earlier"), "build"], cwd=tree)
    env = {**ENV, "PYTHONPATH": str(tree)}

    def scenario() -> Sample:
        started = time.monotonic()
        project = named("earlier")
        command = smoke("run", "--profile", profile, "--no-build", "--project", project)
        run([*command, "--log-file", os.devnull], env=env, cwd=tree)
        return Sample(time.monotonic() - started)

    return scenario


#: The code tracing adds to a service's start, timed inside its image once the
#: service's own framework is imported: the SDK and the instrumentations imported,
#: the provider set up, the app wrapped.
_TRACING_START = """
import sys, time
service = sys.argv[1]
# What the service imports and makes at start anyway (not tracing's cost) comes first.
import asyncio, uvicorn, uvicorn.config, starlette.applications, starlette.routing
if service == "chat":
    import pydantic
if service == "web":
    import httpx
    client = httpx.AsyncClient()
started = time.perf_counter()
import contoso_telemetry
contoso_telemetry.setup(service)
contoso_telemetry.server(lambda scope, receive, send: None)
if service == "web":
    contoso_telemetry.instrument_httpx(client)
took = time.perf_counter() - started
off_path = 0.0
if service == "chat":  # off the critical path: chat's db task, once psycopg is in
    import psycopg
    started = time.perf_counter()
    contoso_telemetry.instrument_psycopg()
    off_path = time.perf_counter() - started
print(took, off_path)
"""


def tracing_figures(runs: int, against: str | None) -> dict[str, float]:
    """What tracing costs each service: seconds added to its start (median of
    ``runs``, in its image), chat's db instrumentation (off the critical path), and,
    with ``against``, each image's size against that release's."""
    docker = DockerClient()
    figures: dict[str, float] = {}
    for service, image in (
        ("chat", f"{named('harness')}-chat:lite"),
        ("web", f"{named('harness')}-web:latest"),
    ):
        timed = []
        for _ in range(runs):
            said = run(
                [
                    "docker",
                    "run",
                    "--rm",
                    "-e",
                    "SMOKE_TRACE_EXPORT=otlp",
                    "--entrypoint",
                    "python",
                    image,
                    "-c",
                    _TRACING_START,
                    service,
                ]
            )
            timed.append([float(v) for v in said.split()])
        figures[f"tracing: {service} start-up added (s)"] = statistics.median(t[0] for t in timed)
        if service == "chat":
            figures["tracing: chat db instrumentation, off the critical path (s)"] = (
                statistics.median(t[1] for t in timed)
            )
        if against:
            earlier = image.replace(named("harness"), named("earlier"))
            size = docker.image.inspect(image).size - docker.image.inspect(earlier).size
            figures[f"tracing: {service} image against {against} (MB)"] = size / 1e6
    return figures


TRACE_OFF = "harness, --no-build --no-trace"
SPECS_OFF = "harness, --no-build --no-specs"

SCENARIOS: dict[str, Callable[[], Sample]] = {
    RAW: raw_baseline,
    LEAN: lean_run,
    HARNESS: harness(),
    "harness, --no-build": harness("--no-build"),
    TRACE_OFF: harness("--no-build", "--no-trace"),
    SPECS_OFF: harness("--no-build", "--no-specs"),
    NO_REAPER: harness("--no-reaper", project=named("no-reaper")),
    NOX_LITE: nox_smoke_lite,
    "testcontainers DockerCompose(wait=True)": testcontainers_compose,
    "pytest-docker style (up --build --wait, poll, down -v)": pytest_docker_style,
    FULL: full_profile(project=named("full")),
    LOCAL: full_profile("--install-local-stack", project=named("full-local")),
    "floor: db alone, a service alone, bare down": floor,
    NEW_PROJECT_BUILD: new_project_build,
}


def base_image() -> str:
    dotenv = ROOT / ".env"
    if "SMOKE_PYTHON_IMAGE" in os.environ:
        return os.environ["SMOKE_PYTHON_IMAGE"]
    if dotenv.is_file():
        for line in dotenv.read_text().splitlines():
            if line.startswith("SMOKE_PYTHON_IMAGE="):
                return line.split("=", 1)[1]
    return "python:3.12-slim"


def cold_run() -> dict[str, float]:
    docker = DockerClient()
    run(smoke("teardown", "--project", named("cold"), "--images"))
    # The BuildKit cache too; python-on-whales only has the buildx form of this.
    run(["docker", "builder", "prune", "--all", "--force"])
    started = time.monotonic()
    run(smoke("run", "--profile", "lite", "--project", named("cold"), "--log-file", os.devnull))
    duration = time.monotonic() - started
    sizes = {
        "cold_run_seconds": duration,
        "base_image_bytes": float(docker.image.inspect(base_image()).size),
        "chat_lite_image_bytes": float(docker.image.inspect(f"{named('cold')}-chat:lite").size),
        "web_image_bytes": float(docker.image.inspect(f"{named('cold')}-web:latest").size),
    }
    run(smoke("build", "--project", named("cold"), "--install-local-stack"))
    sizes["chat_local_image_bytes"] = float(
        docker.image.inspect(f"{named('cold')}-chat:local").size
    )
    run(smoke("teardown", "--project", named("cold"), "--images"))
    return sizes
