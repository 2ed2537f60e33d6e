"""The log file reads in time order across services."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from smoke.masking import Masker
from smoke.stack.logs import chronological, logged_at, logged_by, save_logs, write_logs
from smoke.stack.target import Target
from tests.unit.fakes import FakeDocker, on_fake


def test_services_are_interleaved_by_time() -> None:
    text = (
        "db-1    | 2026-11-25T12:00:01.5Z db ready\n"
        "db-1    | 2026-11-25T12:00:03Z db later\n"
        "chat-1  | 2026-11-25T12:00:02.000000001Z chat starting\n"
        "chat-1  |   continued without a stamp\n"
        "web-1   | 2026-11-25T12:00:01.25Z web first\n"
    )
    assert chronological(text).splitlines() == [
        "web-1   | 2026-11-25T12:00:01.25Z web first",
        "db-1    | 2026-11-25T12:00:01.5Z db ready",
        "chat-1  | 2026-11-25T12:00:02.000000001Z chat starting",
        "chat-1  |   continued without a stamp",
        "db-1    | 2026-11-25T12:00:03Z db later",
    ]


def test_empty_logs_stay_empty() -> None:
    assert chronological("") == ""


def test_equal_times_keep_composes_order_and_unstamped_lead_stays_first() -> None:
    text = (
        "Attaching to db-1, web-1\n"
        "web-1   | 2026-11-25T12:00:01.10Z b from web\n"
        "chat-1  | 2026-11-25T12:00:01.1Z a from chat\n"
    )
    assert chronological(text) == text


def test_the_file_is_written_where_asked_in_utf8(tmp_path: Path) -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {"chat": ["2026-11-25T12:00:02Z café ready s3cret"]}
    stack = on_fake(Target("p", (Path("c.yml"),)), docker)
    path = tmp_path / "deep" / "er" / "e2e-compose.log"
    assert write_logs(stack, path, Masker(["s3cret"])) == 1
    assert path.read_bytes().decode("utf-8") == "chat-1  | 2026-11-25T12:00:02Z café ready ****\n"


def test_containers_compose_cannot_name_join_the_file_in_time_order(tmp_path: Path) -> None:
    """Services the compose file no longer has: each container's own `docker logs`,
    with their times, among the stack's lines."""
    docker = FakeDocker(running=True)
    docker.service_logs = {
        "chat": ["2026-11-25T12:00:02Z chat ready"],
        "api": ["2026-11-25T12:00:01Z api up", "2026-11-25T12:00:03Z api gone s3cret"],
        "cache": ["2026-11-25T12:00:04Z cache gone"],
    }
    stack = on_fake(Target("p", (Path("c.yml"),)), docker)
    path = tmp_path / "new" / "folder" / "e2e-compose.before-up.log"
    orphans = {"api": "id-api", "cache": "id-cache"}
    assert save_logs(stack, path, Masker(["s3cret"]), orphans)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "api-1  | 2026-11-25T12:00:01Z api up",
        "chat-1  | 2026-11-25T12:00:02Z chat ready",
        "api-1  | 2026-11-25T12:00:03Z api gone ****",
        "cache-1  | 2026-11-25T12:00:04Z cache gone",
    ]


def test_a_line_without_a_fraction_of_a_second_is_at_the_second_itself() -> None:
    text = "db-1    | 2026-11-25T12:00:01.5Z later\nweb-1   | 2026-11-25T12:00:01Z first\n"
    assert chronological(text).splitlines() == [
        "web-1   | 2026-11-25T12:00:01Z first",
        "db-1    | 2026-11-25T12:00:01.5Z later",
    ]
    second, half, quarter = (
        logged_at(f"web-1   | 2026-11-25T12:00:{stamp}Z x") or 0.0
        for stamp in ("01", "00.5", "01.25")
    )
    assert (second - half, quarter - second) == (0.5, 0.25)


def test_records_other_tools_wrote_are_masked_as_data(tmp_path: Path) -> None:
    """Schemathesis's HAR and JUnit: each value masked, then encoded again."""
    from smoke.report.files import mask_json_file, mask_xml_file

    secret = 'tok"<&é>'
    har = tmp_path / "e2e-fuzz.har"
    har.write_text(json.dumps({"log": {"entries": [{"response": {"text": f"key {secret}"}}]}}))
    mask_json_file(har, Masker([secret]))
    assert json.loads(har.read_text()) == {"log": {"entries": [{"response": {"text": "key ****"}}]}}
    broken = tmp_path / "broken.har"
    broken.write_text(f'{{"cut": "{secret}')
    mask_json_file(broken, Masker([secret]))
    assert secret not in broken.read_text()
    junit = tmp_path / "junit.xml"
    case = ET.Element("testcase", message=secret, name="café")
    ET.SubElement(case, "failure").text = f"said {secret} once"
    case[0].tail = f"after {secret}"
    ET.SubElement(case, "skipped")  # no text, no tail: none added
    ET.ElementTree(case).write(junit)
    mask_xml_file(junit, Masker([secret]))
    written = junit.read_bytes()
    assert written.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n")
    assert 'name="café"'.encode() in written  # UTF-8, not character references
    root = ET.parse(junit).getroot()
    assert root.attrib == {"message": "****", "name": "café"}
    assert [(n.tag, n.text, n.tail) for n in root] == [
        ("failure", "said **** once", "after ****"),
        ("skipped", None, None),
    ]


def test_the_service_of_a_compose_log_line() -> None:
    assert logged_by("web-1   | 2026-12-04T10:00:00Z GET /a|b 200") == "web"
    assert logged_by("my-cache-2  | ready") == "my-cache"
    assert logged_by("db | plain") == "db"
