"""The fuzzer's own room: the Schemathesis command it runs and what its HAR record
counts (the fuzz command around it: tests/unit/test_fuzz.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from smoke.checks.schemathesis import CHECKS, Tally, run_showing, schemathesis_command
from tests.unit.test_fuzz import har, options


def test_tally_counts_requests_and_server_errors(tmp_path: Path) -> None:
    har(tmp_path / "f.har", [200, 422, 500, 503, 404])
    assert Tally.from_har(tmp_path / "f.har") == Tally(5, 2)
    assert Tally.from_har(tmp_path / "missing.har") is None  # nothing known, not zero
    (tmp_path / "bad.har").write_text("{}")
    assert Tally.from_har(tmp_path / "bad.har") is None


def test_the_schemathesis_command(tmp_path: Path) -> None:
    command = schemathesis_command(
        "http://127.0.0.1:8000", options(tmp_path, seed=3), tmp_path / "f.har", python="py"
    )
    assert command[:5] == [
        "py",
        "-m",
        "schemathesis.cli",
        "run",
        "http://127.0.0.1:8000/openapi.json",
    ]
    assert command[command.index("--checks") + 1] == ",".join(CHECKS)
    assert CHECKS == (
        "not_a_server_error",
        "status_code_conformance",
        "response_schema_conformance",
    )
    assert command[command.index("--max-examples") + 1] == "7"
    assert command[command.index("--report") + 1] == "har"
    assert command[command.index("--report-har-path") + 1] == str(tmp_path / "f.har")
    assert command[command.index("--seed") + 1] == "3"
    assert "--report-junit-path" not in command
    junit = schemathesis_command(
        "http://c", options(tmp_path, junit_xml=tmp_path / "j.xml"), tmp_path / "f.har"
    )
    assert junit[junit.index("--report") + 1] == "har,junit"
    assert junit[junit.index("--report-junit-path") + 1] == str(tmp_path / "j.xml")
    assert "--seed" not in junit


def test_schemathesis_requests_are_bounded_in_time(tmp_path: Path) -> None:
    command = schemathesis_command("http://c", options(tmp_path), tmp_path / "f.har")
    assert command[command.index("--request-timeout") + 1] == "10"


def test_har_entries_without_a_status_count_as_requests(tmp_path: Path) -> None:
    (tmp_path / "f.har").write_text(
        json.dumps({"log": {"entries": [{}, {"response": {}}, {"response": {"status": 502}}]}}),
        encoding="utf-8",
    )
    assert Tally.from_har(tmp_path / "f.har") == Tally(3, 1)


def test_its_output_is_shown_line_by_line_with_its_errors_from_its_own_folder(
    tmp_path: Path,
) -> None:
    script = (
        "import os, sys\n"
        "print(os.getcwd(), flush=True)\n"
        "print('an error', file=sys.stderr, flush=True)\n"
        "print('as it is  X', flush=True)\n"
        "print('spaces kept  ', flush=True)\n"
        "sys.stdout.buffer.write(b'not UTF-8: \\xff\\n')\n"
        "sys.exit(3)\n"
    )
    shown: list[str] = []
    assert run_showing([sys.executable, "-c", script], str(tmp_path), shown.append) == 3
    assert shown == [str(tmp_path), "an error", "as it is  X", "spaces kept  ", "not UTF-8: \ufffd"]


def test_a_run_stopped_while_it_prints_ends_it(tmp_path: Path) -> None:
    script = "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(60)\n"
    pids: list[int] = []

    def stopped(line: str) -> None:
        pids.append(int(line))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_showing([sys.executable, "-c", script], str(tmp_path), stopped)
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(pids[0], 0)
