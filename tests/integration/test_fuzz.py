"""`nox -s fuzz` for real: Schemathesis against chat's own schema on a fresh stack,
bounded, torn down after; and a chat with one server error is caught, with the
request to replay it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import leftovers
from tests.integration.smoke_cli import nox, smoke

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def test_fuzz_passes_on_the_reference_stack(clean_project: str, tmp_path: Path) -> None:
    junit = tmp_path / "fuzz-junit.xml"
    log = tmp_path / "e2e-compose.log"  # its records beside it: this test's own
    result = nox(
        "fuzz", "--project", clean_project, "--junit-xml", str(junit), "--log-file", str(log)
    )
    assert result.returncode == 0, result.output
    found = re.search(r"PASS  fuzz: (\d+) requests, 0 server errors in ([\d.]+)s", result.output)
    assert found, result.output
    assert int(found.group(1)) > 100
    assert float(found.group(2)) < 90
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert cases, "Schemathesis's JUnit report holds no testcase"
    assert (tmp_path / "e2e-fuzz.har").is_file()  # beside the log file, not another run's
    assert leftovers(clean_project) == []


def test_fuzz_catches_a_server_error_and_prints_the_request(
    clean_project: str, tmp_path: Path
) -> None:
    files = (
        "--compose-file",
        "docker-compose.yml",
        "--compose-file",
        "tests/compose/chat-fragile.yml",
    )
    log = str(tmp_path / "e2e-compose.log")
    result = smoke("fuzz", "--project", clean_project, "--seed", "1", "--log-file", log, *files)
    assert result.returncode == 1, result.output
    assert "✗ fuzz" in result.output
    assert "Server error" in result.output
    assert re.search(r"curl -X POST .*/api/chat", result.output), result.output
    assert re.search(r"FAIL  fuzz: \d+ requests, [1-9]\d* server errors", result.output)
    assert "✓ teardown" in result.output
    assert leftovers(clean_project) == []
