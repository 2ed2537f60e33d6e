"""tools/fetch_uv.py: uv's binary out of the locked wheel for this machine, or a
refusal naming why."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools import fetch_uv

VERSION = "0.13.9"


def wheel(binary: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(f"uv-{VERSION}.data/scripts/uv", binary)
        archive.writestr(f"uv-{VERSION}.dist-info/METADATA", "Name: uv\n")
    return out.getvalue()


def serve(monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes], listed: dict[str, str]) -> None:
    """PyPI's simple index (JSON) listing ``listed`` (name -> sha256), and the files."""
    index = {
        "files": [
            {"filename": name, "url": f"https://files/{name}", "hashes": {"sha256": digest}}
            for name, digest in listed.items()
        ]
    }

    def get(url: str, context: object, accept: str = "*/*") -> bytes:
        if url == fetch_uv.INDEX:
            assert accept == fetch_uv.SIMPLE_JSON
            return json.dumps(index).encode()
        return files[url.removeprefix("https://files/")]

    monkeypatch.setattr(fetch_uv, "_get", get)


def lock(tmp_path: Path, *digests: str) -> Path:
    path = tmp_path / "requirements-uv.lock"
    hashes = " ".join(f"--hash=sha256:{d}" for d in digests)
    path.write_text(f"uv=={VERSION} \\\n    {hashes}\n")
    return path


def name_for(machine: str, libc: str = "manylinux_2_17") -> str:
    return f"uv-{VERSION}-py3-none-{libc}_{machine}.whl"


def test_the_locked_wheel_for_this_machine_gives_its_binary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mine, other = wheel(b"#!uv"), wheel(b"#!not-this-one")
    machine = platform.machine()
    files = {name_for(machine): mine, name_for("s390x"): other}
    listed = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    serve(monkeypatch, files, listed)
    dest = tmp_path / "bin/uv"
    assert fetch_uv.main(["fetch_uv", str(lock(tmp_path, *listed.values())), str(dest)]) == 0
    assert dest.read_bytes() == b"#!uv"
    assert dest.stat().st_mode & 0o777 == 0o755


def test_a_wheel_whose_bytes_are_not_the_locked_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name = name_for(platform.machine())
    locked = hashlib.sha256(wheel(b"#!uv")).hexdigest()
    serve(monkeypatch, {name: wheel(b"#!tampered")}, {name: locked})  # the index lies
    with pytest.raises(SystemExit, match="does not match the lock's sha256"):
        fetch_uv.main(["fetch_uv", str(lock(tmp_path, locked)), str(tmp_path / "uv")])
    assert not (tmp_path / "uv").exists()


def test_no_locked_wheel_for_this_machine_is_said(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name = name_for(platform.machine())
    serve(monkeypatch, {name: b""}, {name: "0" * 64})
    with pytest.raises(SystemExit, match=rf"no manylinux {platform.machine()} wheel of uv"):
        fetch_uv.main(["fetch_uv", str(lock(tmp_path, "1" * 64)), str(tmp_path / "uv")])


def test_the_repositorys_lock_pins_uv_with_hashes() -> None:
    text = (ROOT / "tools/requirements-uv.lock").read_text()
    assert "uv==" in text
    assert "--hash=sha256:" in text
