"""The one wait: tries until the deadline, backing off, and nothing after it."""

from __future__ import annotations

import pytest

from smoke.checks import waiting
from smoke.clock import FakeClock


def test_attempts_back_off_and_end_at_the_deadline(fake_clock: FakeClock) -> None:
    started = fake_clock.monotonic()
    tries = [attempt.number for attempt in waiting.attempts(0.5)]
    assert tries == list(range(1, len(tries) + 1))
    pauses = fake_clock.slept
    assert pauses[:3] == pytest.approx([0.05, 0.075, 0.1])  # backing off to POLL_MAX
    assert max(pauses) == waiting.POLL_MAX
    assert fake_clock.monotonic() <= started + 0.5  # never sleeps past the deadline
    assert fake_clock.monotonic() + waiting.POLL_MAX >= started + 0.5  # stops when one more would


def test_a_wait_that_succeeds_stops_trying() -> None:
    for attempt in waiting.attempts(60.0):
        if attempt.number == 3:
            break
    assert attempt.number == 3
    assert 0 <= attempt.elapsed_now() < 60
    assert 0 < attempt.remaining_now() <= 60
