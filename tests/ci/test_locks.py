"""The images install what the lock files pin, and nothing else: offline checks of
the locks against their requirements and of the Dockerfiles' install steps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from noxfile import LOCKS
from tests.conftest import ROOT

# `name==version` at the start of a requirement line; the rest (extras, markers,
# hashes) is read separately.
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)
DOCKERFILES = (ROOT / "web/Dockerfile", ROOT / "chat/Dockerfile")


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    return {normalised(name): version for name, version in PIN.findall(path.read_text())}


def entries(lock: Path) -> list[str]:
    """Each requirement of a lock file, its continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", lock.read_text())
    return [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("lock", sorted(LOCKS), ids=str)
def test_every_pin_of_the_requirements_is_in_its_lock(lock: str) -> None:
    locked = pins(ROOT / lock)
    for requirements in LOCKS[lock]:
        for name, version in pins(ROOT / requirements).items():
            assert locked.get(name) == version, f"{lock}: {name}=={version} of {requirements}"


@pytest.mark.parametrize("lock", sorted(LOCKS), ids=str)
def test_every_locked_requirement_is_pinned_with_hashes(lock: str) -> None:
    found = entries(ROOT / lock)
    assert found, f"{lock} is empty"
    for entry in found:
        assert PIN.match(entry), f"{lock}: not pinned: {entry}"
        assert "--hash=sha256:" in entry, f"{lock}: no hash: {entry}"


def test_the_locks_hold_for_python_311_and_312() -> None:
    # Resolved universally from 3.11 up: the Debian stand-in and python:3.12-slim.
    for lock in LOCKS:
        header = (ROOT / lock).read_text().splitlines()[1]
        assert header.strip("# ") == "nox -s lock", f"{lock} was not written by `nox -s lock`"


def test_the_lite_lock_holds_no_local_stack() -> None:
    lite = pins(ROOT / "chat/requirements.lock")
    assert not {"onnxruntime", "numpy", "tokenizers"} & set(lite)
    assert {"onnxruntime", "numpy"} <= set(pins(ROOT / "chat/requirements-local.lock"))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_the_dockerfiles_install_only_locked_requirements_from_a_cache(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    installs = re.findall(r"\buv pip install\b[^;]*", text)
    assert installs, "no `uv pip install`"
    for install in installs:
        assert "--require-hashes" in install, install
        assert "--no-deps" in install, install
    for lock in re.findall(r"source=((?:chat|web)/[\w.-]+)", text):
        assert lock in LOCKS, f"{dockerfile.parent.name} installs {lock}, not a lock"
    assert "--mount=type=cache,id=contoso-smoke-uv,target=/root/.cache/uv" in text
    assert "from=uv,source=/opt/uv/bin/uv" in text  # uv itself is never in the image
    assert "SSL_CERT_FILE=/run/secrets/build_ca" in text  # uv ignores PIP_CERT
    assert "UV_PYTHON_DOWNLOADS=never" in text
    assert "UV_LINK_MODE=copy" in text
    # A `# syntax=` line would pull a frontend image, which a machine without a
    # registry cannot.
    assert not re.search(r"^#\s*syntax\s*=", text, re.M | re.I)
    # uv itself: the locked wheel, its sha256 checked (tools/fetch_uv.py).
    assert "python3 /tmp/fetch_uv.py /tmp/requirements-uv.lock /opt/uv/bin/uv" in text
