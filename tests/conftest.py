"""Shared fixtures: a real Docker engine (or a skip outside CI), project names that
never collide, and the check that a project left nothing behind.

The engine may be shared (a developer's kept stack, another checkout's suite): every
project, image, volume and network a test run makes carries its run's prefix
(``RUN_PREFIX``), and no test builds or removes the default project's images or stack.

Every test marked ``docker`` needs an engine with Compose v2: without one it is
skipped, with the reason, except under CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_on_whales import DockerClient
from python_on_whales.client_config import ClientNotFoundError
from python_on_whales.exceptions import DockerException

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROJECT_LABEL = "com.docker.compose.project"
RUN_LABEL = "io.contoso-smoke.run"  # smoke.stack.claim.LABEL
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# One id for the whole run: the controller picks it when it loads this file, before it
# starts any xdist worker, and the workers inherit it.
RUN_ID = os.environ.setdefault("SMOKE_TEST_RUN", uuid.uuid4().hex[:6])
RUN_PREFIX = f"smoke-test-{RUN_ID}"
#: The project whose images the session builds once, for every test's cache and for the
#: tests that run an image by name; removed when the whole run ends.
IMAGES_PROJECT = f"{RUN_PREFIX}-images"
#: Made when a test of the run (on any worker) first has the engine: only then can the
#: run have built an image to remove at its end.
DOCKER_USED = Path(tempfile.gettempdir()) / f"{RUN_PREFIX}.used-docker"


def image(service: str, tag: str = "") -> str:
    """This run's image of ``service``: `smoke-test-<run>-images-web:latest`."""
    return f"{IMAGES_PROJECT}-{service}:{tag or ('latest' if service == 'web' else 'lite')}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Once every worker is done (on the controller, or a run without workers), the
    images of every project of this run go (the bench's too): they are the run's own."""
    if hasattr(session.config, "workerinput") or not DOCKER_USED.exists():
        return  # a worker, or a run that built nothing (the fast tests, a mutant's run)
    DOCKER_USED.unlink()
    with contextlib.suppress(DockerException, ClientNotFoundError):
        ours = _images_of_this_run()
        if ours:
            DockerClient().image.remove(ours, force=True)


def _images_of_this_run() -> list[str]:
    """Every image a project of this run built, by compose's project label. One list and
    one inspect for all of them through the CLI: python-on-whales' image objects inspect
    once each and again when a field is read (about 2 s for 50 images, every run)."""
    listed = _docker("image", "ls", "-q", "--no-trunc", "--filter", f"label={PROJECT_LABEL}")
    if not listed:
        return []
    project = f'{{{{index .Config.Labels "{PROJECT_LABEL}"}}}}'
    labels = _docker("image", "inspect", "--format", f"{{{{.Id}}}} {project}", *set(listed))
    return [
        image
        for image, _, name in (line.partition(" ") for line in labels)
        if name.startswith(f"{RUN_PREFIX}-")
    ]


def _docker(*args: str) -> list[str]:
    """The lines a docker CLI command prints (none when it fails)."""
    command = [*DockerClient().client_config.docker_cmd, *args]
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.splitlines()


def _said(exc: DockerException) -> str:
    lines = (exc.stderr or exc.stdout or "").strip().splitlines()
    return f" ({lines[-1]})" if lines else ""


@functools.cache
def _engine_problem() -> str | None:
    docker = DockerClient()
    try:
        docker.system.info()
    except ClientNotFoundError:
        return "no docker CLI on PATH"
    except DockerException as exc:
        return f"no Docker engine: `docker info` exited {exc.return_code}{_said(exc)}"
    try:
        docker.compose.version()
    except DockerException as exc:
        return f"no Compose v2: `docker compose version` exited {exc.return_code}{_said(exc)}"
    return None


def require_docker() -> None:
    """Real Docker or nothing: skip locally without an engine, fail under CI."""
    problem = _engine_problem()
    if problem is None:
        DOCKER_USED.touch()
        return
    if UNDER_CI:
        pytest.fail(f"{problem} (CI must provide one: see .ci/run)")
    pytest.skip(problem)


#: The modules that take the workers longest, longest first (docs/development.md has
#: their times). xdist hands out whole modules in the order collected (noxfile's
#: PARALLEL turns its own reordering off): these start first so that no long module
#: starts last, while the short ones fill in at the end and the workers end together.
LONGEST_FIRST = tuple(
    f"tests/{name}.py"
    for name in (
        "integration/test_faults",
        "integration/test_trace",
        "integration/test_specs",
        "integration/test_interrupts",
        "integration/test_remote_engine",
        "ci/test_bench",
        "integration/test_sessions",
        "integration/test_concurrent_runs",
        "integration/test_team_compose",
        "integration/test_reaper",
    )
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first, then the other Docker modules, then the rest; each
    module's tests keep their order."""

    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    with_docker = {module(item) for item in items if item.get_closest_marker("docker")}

    def rank(item: pytest.Item) -> int:
        if module(item) in LONGEST_FIRST:
            return LONGEST_FIRST.index(module(item))
        return len(LONGEST_FIRST) + (module(item) not in with_docker)

    items.sort(key=rank)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        require_docker()


#: The runbook's checks, in its order; a lite run is `compose up`, these, `teardown`.
RUNBOOK_CHECKS = (
    "chat health",
    "chat dependency health (db)",
    "web -> chat proxy call",
    "response contract",
)
#: A lite run's steps, as the console lists them.
RUNBOOK_STEPS = ("compose up", *RUNBOOK_CHECKS, "teardown")


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """For fixtures that need the engine whichever test asks for them."""
    require_docker()


@pytest.fixture
def project() -> Iterator[str]:
    """A fresh project name. The images a run of it built are the test's own (the
    smoke keeps a project's images for --no-build): removed after the test."""
    name = f"{RUN_PREFIX}-{uuid.uuid4().hex[:6]}"
    yield name
    remove_images(name)


def remove_images(project: str) -> None:
    """Remove the images the project built on this machine's engine, found by label."""
    with contextlib.suppress(DockerException, ClientNotFoundError):
        docker = DockerClient()
        built = docker.image.list(filters=[("label", f"{PROJECT_LABEL}={project}")])
        if built:
            docker.image.remove([image.id for image in built], force=True)


def leftovers(project: str, *, host: str | None = None, marks: bool = True) -> list[str]:
    """Every container, network and volume the project still has on the engine at
    ``host`` (this machine's by default), and with ``marks`` the smoke's own mark of a
    run on it (smoke.stack.claim). Listing while something removes the project (a
    teardown, the reaper) can meet an object already gone: look again."""
    for _ in range(5):
        try:
            return _leftovers(project, host, marks)
        except DockerException:
            time.sleep(0.2)
    return _leftovers(project, host, marks)


def _leftovers(project: str, host: str | None, marks: bool) -> list[str]:
    docker = DockerClient(host=host) if host else DockerClient()
    label = [("label", f"{PROJECT_LABEL}={project}")]
    run_marks = [("label", f"{RUN_LABEL}={project}")]
    return (
        [f"container {c.name}" for c in docker.container.list(all=True, filters=label)]
        + [f"network {n.name}" for n in docker.network.list(filters=label)]
        + [f"volume {v.name}" for v in docker.volume.list(filters=label)]
        + ([f"run mark {v.name}" for v in docker.volume.list(filters=run_marks)] if marks else [])
    )


@pytest.fixture
def clean_project(project: str) -> Iterator[str]:
    """A project name; the test fails if the project is left behind, and is cleaned anyway."""
    yield project
    left = leftovers(project)
    if left:
        DockerClient(compose_files=[COMPOSE_FILE], compose_project_name=project).compose.down(
            volumes=True, remove_orphans=True, timeout=2, quiet=True
        )
        marks = DockerClient().volume.list(filters=[("label", f"{RUN_LABEL}={project}")])
        if marks:
            DockerClient().volume.remove(marks)
        pytest.fail(f"project {project} left behind: {', '.join(left)}")


@pytest.fixture
def ephemeral_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publish web and chat on free ports, so tests never collide with a user's stack."""
    monkeypatch.setenv("SMOKE_WEB_PORT", "0")
    monkeypatch.setenv("SMOKE_CHAT_PORT", "0")
