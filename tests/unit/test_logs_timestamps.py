"""When a compose log line was written, read from its timestamp (the benchmark uses it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smoke.stack.logs import logged_at

BASE = datetime(2026, 11, 25, 12, 58, 36, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("line", "at"),
    [
        ("chat-1  | 2026-11-25T12:58:36.7056578Z Application startup complete.", BASE + 0.7056578),
        ("chat-1  | 2026-11-25T12:58:36Z no fraction", BASE),
        ("chat-1  | 2026-11-25T12:58:36.05Z a short fraction", BASE + 0.05),
    ],
)
def test_a_stamped_line_gives_its_moment(line: str, at: float) -> None:
    assert logged_at(line) == pytest.approx(at)


def test_a_line_without_a_stamp_has_none() -> None:
    assert logged_at("chat-1  | no timestamp here") is None
    assert logged_at("") is None
