"""One `docker inspect` for several objects, read once: against a stand-in `docker`
program that answers as the CLI does (found objects on stdout, exit 1 for a name it
does not know) and writes down each command line it was given."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from smoke.stack.inspected import Inspector

# What the stand-in knows: kind -> name -> its inspect.
KNOWN = {
    "container": {
        "c1": {"Id": "c1", "Name": "/p-web-1", "State": {"Status": "running", "ExitCode": 0}},
        "c2": {"Id": "c2", "Name": "/p-db-1", "State": {"Status": "exited", "ExitCode": 3}},
    },
    "image": {
        "p-web:latest": {"Id": "sha256:w", "RepoTags": ["p-web:latest"], "Size": 5},
    },
}

STAND_IN = """
import json, sys
calls, known, unreachable = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == "1"
kind, verb, *names = sys.argv[4:]
with open(calls, "a") as out:
    out.write(" ".join(sys.argv[4:]) + "\\n")
if unreachable:
    sys.stderr.write("Cannot connect to the Docker daemon\\n")
    sys.exit(1)
found = [known[kind][name] for name in names if name in known[kind]]
print(json.dumps(found))
missing = [name for name in names if name not in known[kind]]
if missing:
    sys.stderr.write(f"Error: No such object: {missing[0]}\\n")
    sys.exit(1)
"""


def inspector(tmp_path: Path, *, unreachable: bool = False) -> tuple[Inspector, Path]:
    script, calls = tmp_path / "docker.py", tmp_path / "calls"
    script.write_text(STAND_IN)
    client_call = [sys.executable, str(script), str(calls), json.dumps(KNOWN)]
    client = DockerClient(client_call=[*client_call, "1" if unreachable else "0"])
    return Inspector(client), calls


def test_several_containers_are_read_in_one_call_in_their_order(tmp_path: Path) -> None:
    reader, calls = inspector(tmp_path)
    found = reader.containers(["c2", "c1"])
    assert [(c.id, c.name, c.state.status, c.state.exit_code) for c in found] == [
        ("c2", "/p-db-1", "exited", 3),
        ("c1", "/p-web-1", "running", 0),
    ]
    assert calls.read_text() == "container inspect c2 c1\n"


def test_a_container_removed_meanwhile_is_left_out(tmp_path: Path) -> None:
    reader, calls = inspector(tmp_path)
    assert [c.id for c in reader.containers(["gone", "c1"])] == ["c1"]
    assert reader.containers(["gone"]) == []
    assert calls.read_text().splitlines() == ["container inspect gone c1", "container inspect gone"]


def test_nothing_to_read_asks_nothing(tmp_path: Path) -> None:
    reader, calls = inspector(tmp_path)
    assert reader.containers([]) == []
    assert reader.images([]) == []
    assert not calls.exists()


def test_images_the_engine_lacks_are_left_out(tmp_path: Path) -> None:
    reader, _ = inspector(tmp_path)
    found = reader.images(["p-chat:lite", "p-web:latest"])
    assert [(i.id, i.repo_tags, i.size) for i in found] == [("sha256:w", ["p-web:latest"], 5)]


def test_an_engine_that_does_not_answer_is_an_error_not_an_empty_answer(tmp_path: Path) -> None:
    reader, _ = inspector(tmp_path, unreachable=True)
    with pytest.raises(DockerException) as caught:
        reader.containers(["c1"])
    assert "Cannot connect to the Docker daemon" in (caught.value.stderr or "")
