"""Put uv's binary at a path, from the wheel a lock file pins.

    python3 fetch_uv.py tools/requirements-uv.lock /opt/uv/bin/uv

Used by the images' throwaway `uv` stage: standard library only, so the stage needs
neither a venv nor pip (together 4 s of a cold build). Asks PyPI's simple index
(its JSON form, PEP 691, as pip does) for uv's files, takes the pinned release's
wheel for this machine (glibc or musl, its CPU) whose sha256 the lock lists, checks
it, and writes the binary out of it. An extra CA
bundle comes from the build's secret (/run/secrets/build_ca) when it is not empty.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import re
import ssl
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

CA_SECRET = Path("/run/secrets/build_ca")
INDEX = "https://pypi.org/simple/uv/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
_ATTEMPTS = 3


def _context() -> ssl.SSLContext:
    if CA_SECRET.is_file() and CA_SECRET.stat().st_size > 0:
        return ssl.create_default_context(cafile=str(CA_SECRET))
    return ssl.create_default_context()


def _get(url: str, context: ssl.SSLContext, accept: str = "*/*") -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept})
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, context=context, timeout=60) as answer:
                return bytes(answer.read())
        except (urllib.error.URLError, TimeoutError) as exc:
            if attempt == _ATTEMPTS:
                raise SystemExit(f"fetch_uv: {url}: {exc}") from None
            time.sleep(attempt)
    raise AssertionError("unreachable")


def wheel_for_this_machine(
    files: list[dict[str, object]], version: str, hashes: set[str]
) -> dict[str, object]:
    """The release's wheel for this CPU and C library whose sha256 the lock lists."""
    libc = "musllinux" if any(Path("/lib").glob("ld-musl-*")) else "manylinux"
    machine = platform.machine()
    for found in files:
        name = str(found["filename"])
        digest = str(dict(found["hashes"]).get("sha256", ""))  # type: ignore[call-overload]
        if (
            name.startswith(f"uv-{version}-")
            and name.endswith(f"{machine}.whl")
            and libc in name
            and digest in hashes
        ):
            return found
    raise SystemExit(f"fetch_uv: no {libc} {machine} wheel of uv {version} with a locked sha256")


def main(argv: list[str]) -> int:
    lock, dest = Path(argv[1]), Path(argv[2])
    text = lock.read_text()
    pinned = re.search(r"^uv==(\S+)", text, re.M)
    if pinned is None:
        raise SystemExit(f"fetch_uv: {lock} pins no uv")
    hashes = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", text))
    context = _context()
    index = json.loads(_get(INDEX, context, accept=SIMPLE_JSON))
    chosen = wheel_for_this_machine(index["files"], pinned[1], hashes)
    wheel = _get(str(chosen["url"]), context)
    if hashlib.sha256(wheel).hexdigest() not in hashes:
        raise SystemExit(f"fetch_uv: {chosen['filename']} does not match the lock's sha256")
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        member = next(
            n for n in archive.namelist() if re.fullmatch(r"uv-[^/]+\.data/scripts/uv", n)
        )
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(archive.read(member))
    dest.chmod(0o755)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
