"""The images, built for real: each installs exactly what its lock pins, and a change
to a lock file takes effect in the next build."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from packaging.markers import Marker

from bench.builds import copy_build_context
from tests.ci.test_locks import entries, normalised, pins
from tests.conftest import ROOT, image

pytestmark = pytest.mark.docker

# What packaging's markers read, as the image's own Python says it (stdlib only).
_ENVIRONMENT = """
import importlib.metadata as metadata, json, os, platform, sys
print(json.dumps({
    "environment": {
        "implementation_name": sys.implementation.name,
        "implementation_version": platform.python_version(),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "installed": {d.metadata["Name"]: d.version for d in metadata.distributions()},
}))
"""


def in_image(name: str) -> tuple[dict[str, str], dict[str, str]]:
    said = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "python", name, "-c", _ENVIRONMENT],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(said.stdout)
    installed = {normalised(key): value for key, value in found["installed"].items()}
    return found["environment"], installed


def expected(environment: dict[str, str], *locks: str) -> dict[str, str]:
    """The pins of ``locks`` whose markers hold in ``environment``."""
    wanted: dict[str, str] = {}
    for lock in locks:
        for entry in entries(ROOT / lock):
            requirement = entry.split(" --hash", 1)[0]
            _, _, marker = requirement.partition(";")
            if marker and not Marker(marker).evaluate(environment):
                continue
            wanted.update(pins_of(requirement))
    return wanted


def pins_of(requirement: str) -> dict[str, str]:
    name, _, version = requirement.split(";", 1)[0].strip().partition("==")
    return {normalised(name.split("[", 1)[0]): version.strip()}


@pytest.mark.usefixtures("lite_images", "local_images")
@pytest.mark.parametrize(
    ("name", "locks"),
    [
        (image("web"), ("web/requirements.lock",)),
        (image("chat"), ("chat/requirements.lock",)),
        (
            image("chat", "local"),
            ("chat/requirements-local.lock", "chat/requirements-local-nodeps.lock"),
        ),
    ],
    ids=("web", "chat-lite", "chat-local"),
)
def test_each_image_installs_exactly_what_its_lock_pins(name: str, locks: tuple[str, ...]) -> None:
    environment, installed = in_image(name)
    assert installed == expected(environment, *locks)
    assert "pip" not in installed
    assert "uv" not in installed


@pytest.mark.usefixtures("lite_images")
def test_a_lock_change_takes_effect_in_the_next_build(project: str, tmp_path: Path) -> None:
    copy_build_context(tmp_path)
    lock = tmp_path / "web/requirements.lock"
    # certifi is in the lock for httpx; without it web's image simply lacks it.
    assert "certifi" in pins(lock)
    kept = [entry for entry in entries(lock) if not entry.startswith("certifi==")]
    lock.write_text("\n".join(kept) + "\n")
    build = ["docker", "compose", "-p", project, "build", "--progress", "plain", "web"]
    said = subprocess.run(
        build, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert said.returncode == 0, said.stderr[-2000:]
    _, installed = in_image(f"{project}-web:latest")
    assert "certifi" not in installed
    assert installed["httpx"] == pins(ROOT / "web/requirements.lock")["httpx"]
