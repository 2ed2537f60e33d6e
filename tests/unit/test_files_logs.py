"""The log file reads in time order across services."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from python_on_whales import DockerClient

from smoke.masking import Masker
from smoke.report.files import chronological, write_logs
from smoke.stack.compose import Stack
from smoke.stack.target import Target
from tests.unit.fakes import FakeDocker


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
    stack = Stack(Target("p", (Path("c.yml"),)), docker=cast(DockerClient, docker))
    path = tmp_path / "deep" / "er" / "e2e-compose.log"
    assert write_logs(stack, path, Masker(["s3cret"])) == 1
    assert path.read_bytes().decode("utf-8") == "chat-1  | 2026-11-25T12:00:02Z café ready ****\n"
