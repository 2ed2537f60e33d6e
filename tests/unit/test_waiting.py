"""The one wait: tries until the deadline, backing off, and nothing after it."""

from __future__ import annotations

import pytest

from smoke.checks import waiting


def test_attempts_back_off_and_end_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(waiting.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(waiting.time, "sleep", sleep)
    tries = [attempt.number for attempt in waiting.attempts(0.5)]
    assert tries == list(range(1, len(tries) + 1))
    assert pauses[:3] == pytest.approx([0.05, 0.075, 0.1])  # backing off to POLL_MAX
    assert max(pauses) == waiting.POLL_MAX
    assert clock[0] <= 100.5  # never sleeps past the deadline
    assert clock[0] + waiting.POLL_MAX >= 100.5  # and stops only when one more would


def test_a_wait_that_succeeds_stops_trying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting.time, "sleep", lambda seconds: None)
    for attempt in waiting.attempts(60.0):
        if attempt.number == 3:
            break
    assert attempt.number == 3
    assert 0 <= attempt.elapsed_now() < 60
    assert 0 < attempt.remaining_now() <= 60
