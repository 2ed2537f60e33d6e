"""How long users wait for images: a cold build, and the rebuild after a dependency
change and after a code change, for this tree and (with ``--against``) an earlier
commit's, in the same run, on the same engine.

Each tree is a copy (this one's working files, or ``git archive REV``), built with
raw ``docker compose build`` under a bench project of its own, so the figures are the
Dockerfiles' and not the harness's. A dependency change appends a comment to each
file a service's venv is installed from, requirements or lock (``CHANGES``), as a
real edit would; a code change appends one to the service's ``__init__.py``.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from pathlib import Path

from python_on_whales import DockerClient

from bench.scenarios import ENV, LOCAL_ENV, ROOT, model_ready, named, run

#: (figure's name for the image, compose service, local stack?)
IMAGES = (("web", "web", False), ("chat lite", "chat", False), ("chat local", "chat", True))
CHANGES = (
    # What the venv is installed from (the model's own wheels, requirements-model.txt,
    # are another stage's).
    (
        "a dependency change",
        (
            "{service}/requirements.txt",
            "{service}/requirements-local*.txt",
            "{service}/requirements*.lock",
        ),
    ),
    ("a code change", ("{code}",)),
)
CODE = {"web": "web/contoso_web/__init__.py", "chat": "chat/contoso_chat/__init__.py"}


def build_context(root: Path = ROOT) -> list[str]:
    """What a build of the stack reads: the compose file, .dockerignore, and every
    path .dockerignore lets through (its `!` lines: the one list of them)."""
    allowed = [
        line[1:].strip().rstrip("/")
        for line in (root / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    return ["docker-compose.yml", ".dockerignore", *allowed]


def copy_build_context(tree: Path, root: Path = ROOT) -> Path:
    """A copy of what a build reads, at ``tree``, with this machine's .env."""
    for part in build_context(root):
        source, target = root / part, tree / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
        elif source.is_file():
            shutil.copy(source, target)
    return _with_env(tree)


def this_tree(workdir: Path) -> Path:
    return copy_build_context(workdir / "now")


def tree_at(rev: str, workdir: Path) -> Path:
    tree = workdir / f"builds-at-{rev}"
    tree.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", rev], cwd=ROOT, capture_output=True, check=True, timeout=120
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return _with_env(tree)


def _with_env(tree: Path) -> Path:
    # The base images this machine's setup chose (.env is not committed).
    if (ROOT / ".env").is_file():
        shutil.copy(ROOT / ".env", tree / ".env")
    return tree


def build(tree: Path, project: str, service: str, *, local: bool = False) -> float:
    env = {**ENV, **(LOCAL_ENV if local else {})}
    started = time.monotonic()
    run(["docker", "compose", "-p", project, "build", service], env=env, cwd=tree)
    return time.monotonic() - started


def change(tree: Path, *patterns: str) -> None:
    """Append a comment no earlier build has seen to every file matching ``patterns``."""
    mark = f"\n# bench change {time.monotonic_ns()}\n"
    for pattern in patterns:
        for path in tree.glob(pattern):
            path.write_text(path.read_text() + mark)


def remove_images(project: str) -> None:
    docker = DockerClient()
    built = docker.image.list(filters=[("label", f"com.docker.compose.project={project}")])
    if built:
        docker.image.remove([image.id for image in built], force=True)


def rebuilds(tree: Path, label: str, runs: int) -> dict[str, float]:
    """Median seconds of each image's rebuild after a dependency change and after a
    code change, its cache warm (built once before timing)."""
    project = named(f"rebuild-{label.replace(' ', '-')}")
    timed: dict[str, list[float]] = {}
    try:
        for _, service, local in IMAGES:
            build(tree, project, service, local=local)
        for _ in range(runs):
            for kind, patterns in CHANGES:
                for name, service, local in IMAGES:
                    if not local:  # the local image reads the lite one's files
                        files = (p.format(service=service, code=CODE[service]) for p in patterns)
                        change(tree, *files)
                    figure = f"rebuild after {kind}: {name}, {label} (s)"
                    timed.setdefault(figure, []).append(build(tree, project, service, local=local))
        # What the local image's build gives a run: its model ready after the start.
        timed[f"model ready, {label} (s)"] = model_ready(project, runs, cwd=tree)
    finally:
        remove_images(project)
    return {name: statistics.median(values) for name, values in timed.items()}


def cold_build(tree: Path, label: str) -> float:
    """Seconds to build web and the lite chat with no image and no build cache (the
    engine's whole build cache is pruned: run the bench on an engine of your own)."""
    project = named(f"cold-build-{label.replace(' ', '-')}")
    remove_images(project)
    run(["docker", "builder", "prune", "--all", "--force"])
    try:
        started = time.monotonic()
        run(["docker", "compose", "-p", project, "build", "chat", "web"], cwd=tree)
        return time.monotonic() - started
    finally:
        remove_images(project)


def build_figures(runs: int, against: str | None, workdir: Path, *, cold: bool) -> dict[str, float]:
    """Every build figure for this tree and, with ``against``, that commit's (labelled
    "against"), with the ratio of each of this tree's to that one's."""
    trees = {"this commit": this_tree(workdir)}
    if against:
        trees["against"] = tree_at(against, workdir)
    figures: dict[str, float] = {}
    for label, tree in trees.items():
        figures.update(rebuilds(tree, label, runs))
        if cold:
            figures[f"cold build, web + chat lite, {label} (s)"] = cold_build(tree, label)
    for name in [name for name in figures if name.endswith(", this commit (s)")]:
        earlier = figures.get(name.replace("this commit", "against"))
        if earlier:
            figures[name.replace(", this commit (s)", ": this commit / against")] = (
                figures[name] / earlier
            )
    return figures
