"""The log file reads in time order across services."""

from __future__ import annotations

from smoke.logfile import chronological


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
