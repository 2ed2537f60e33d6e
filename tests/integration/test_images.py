"""Images belong to their project: two checkouts on one engine never run each
other's code, `--no-build` takes only the project's own images, rebuilds leave no
dangling image, and `teardown --images` removes the project's images only.

Each "checkout" is a copy of the compose file and the two services' sources; the
smoke package is the same, as for two clones with the same harness.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from bench.builds import copy_build_context
from tests.conftest import PROJECT_LABEL, ROOT, image, leftovers, remove_images
from tests.integration.faultkit import smoke_env

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]

WEB_APP = Path("web/contoso_web/app.py")
PROXY_ROUTE = "async def chat_service(request: Request) -> Response:\n"


def checkout(where: Path) -> Path:
    """A copy of what the smoke builds and starts (what .dockerignore lets through,
    the compose file), as another checkout of the repository would have it."""
    where.mkdir()
    return copy_build_context(where)


def break_proxy(tree: Path) -> None:
    """web's proxy route answers 500 in this checkout."""
    app = tree / WEB_APP
    text = app.read_text()
    assert PROXY_ROUTE in text
    broken = PROXY_ROUTE + '    return error("this checkout breaks the proxy route", 500)\n'
    app.write_text(text.replace(PROXY_ROUTE, broken))


def smoke(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smoke", *args],
        cwd=tree,
        env=smoke_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def lite(tree: Path, project: str, *extra: str) -> subprocess.CompletedProcess[str]:
    log_file = str(tree / f"{project}.log")
    return smoke(
        tree, "run", "--profile", "lite", "--project", project, "--log-file", log_file, *extra
    )


def dangling(project: str) -> set[str]:
    images = DockerClient().image.list(
        filters=[("dangling", "true"), ("label", f"{PROJECT_LABEL}={project}")]
    )
    return {image.id for image in images}


def tags(project: str) -> set[str]:
    images = DockerClient().image.list(filters=[("label", f"{PROJECT_LABEL}={project}")])
    return {tag for image in images for tag in image.repo_tags}


@pytest.fixture
def second_project(project: str) -> Iterator[str]:
    other = f"{project}-b"
    yield other
    left = leftovers(other)
    remove_images(other)
    assert left == []


def test_two_checkouts_on_one_engine_each_run_their_own_code(
    clean_project: str, second_project: str, tmp_path: Path
) -> None:
    good, bad = checkout(tmp_path / "good"), checkout(tmp_path / "bad")
    break_proxy(bad)

    first = lite(good, clean_project)
    assert first.returncode == 0, first.stdout + first.stderr
    second = lite(bad, second_project)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "✗ web -> chat proxy call" in second.stdout
    assert "this checkout breaks the proxy route" in second.stdout

    # After the other checkout built, --no-build still runs this project's images.
    again = lite(good, clean_project, "--no-build")
    assert again.returncode == 0, again.stdout + again.stderr
    assert tags(clean_project) == {f"{clean_project}-chat:lite", f"{clean_project}-web:latest"}

    # Both at once, each building its own: the good one passes, the broken one fails.
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda pair: lite(*pair), [(good, clean_project), (bad, second_project)])
        both = list(runs)
    assert both[0].returncode == 0, both[0].stdout + both[0].stderr
    assert both[1].returncode == 1, both[1].stdout + both[1].stderr
    assert "this checkout breaks the proxy route" in both[1].stdout


def test_no_build_without_the_projects_images_is_exit_2_naming_the_build(
    clean_project: str,
) -> None:
    result = lite(ROOT, clean_project, "--no-build")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"smoke: error: --no-build: project {clean_project} has not built "
        f"{clean_project}-chat:lite, {clean_project}-web:latest; build them with "
        f"`nox -s build -- --project {clean_project}`, or run without --no-build"
    )
    assert "compose up" not in result.stdout


def test_rebuilds_leave_no_dangling_image_and_spare_other_projects(
    clean_project: str, second_project: str, tmp_path: Path
) -> None:
    tree = checkout(tmp_path / "tree")
    # Another project's leftover: an image its rebuild replaced (two builds, one tag).
    other = tmp_path / "other"
    other.mkdir()
    base = DockerClient().image.inspect(image("web")).id
    for generation in (1, 2):
        (other / "Dockerfile").write_text(
            f"FROM {base}\nLABEL {PROJECT_LABEL}={second_project} generation={generation}\n"
        )
        # The classic builder: this CLI has no buildx, which python-on-whales's build needs.
        subprocess.run(
            ["docker", "build", "-q", "-t", f"{second_project}-web:latest", str(other)],
            env={**smoke_env(), "DOCKER_BUILDKIT": "0"},
            capture_output=True,
            check=True,
            timeout=120,
        )
    theirs = dangling(second_project)
    assert len(theirs) == 1

    for generation in range(3):
        app = tree / WEB_APP
        app.write_text(app.read_text() + f"\n# change {generation}\n")
        built = smoke(tree, "build", "--project", clean_project)
        assert built.returncode == 0, built.stdout + built.stderr
        assert dangling(clean_project) == set()
    assert dangling(second_project) == theirs


def test_teardown_images_removes_that_projects_images_only(
    clean_project: str, second_project: str, tmp_path: Path
) -> None:
    tree = checkout(tmp_path / "tree")
    for project in (clean_project, second_project):
        built = smoke(tree, "build", "--project", project)
        assert built.returncode == 0, built.stdout + built.stderr
    removed = smoke(tree, "teardown", "--project", clean_project, "--images")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert (
        f"teardown: removed 2 images ({clean_project}-chat:lite, {clean_project}-web:latest) "
        f"of project {clean_project}"
    ) in removed.stdout
    assert tags(clean_project) == set()
    assert tags(second_project) == {f"{second_project}-chat:lite", f"{second_project}-web:latest"}
    assert DockerClient().image.exists(image("web"))  # another project's
