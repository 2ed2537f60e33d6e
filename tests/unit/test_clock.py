"""The one clock: the system's, and the tests' fake on which time moves only when
something sleeps."""

from __future__ import annotations

import signal
import threading

import pytest

from smoke import clock
from smoke.clock import Clock, FakeClock


def test_the_fake_moves_only_when_slept_on_and_keeps_what_was_asked() -> None:
    fake = FakeClock(start=50.0, wall=2_000.0)
    assert (fake.monotonic(), fake.time()) == (50.0, 2_000.0)
    fake.sleep(1.5)
    fake.sleep(-1)  # a deadline already past: no time moves back
    fake.advance(0.5)  # a fake's slow work: not a sleep
    assert (fake.monotonic(), fake.time()) == (52.0, 2_002.0)
    assert fake.slept == [1.5, 0.0]


def test_using_puts_the_clock_back_after_the_block(fake_clock: FakeClock) -> None:
    other = FakeClock(start=7.0)
    with clock.using(other):
        assert clock.monotonic() == 7.0
        clock.sleep(1)
    assert other.monotonic() == 8.0
    assert clock.monotonic() == fake_clock.monotonic()
    with pytest.raises(RuntimeError), clock.using(other):
        raise RuntimeError
    assert clock.monotonic() == fake_clock.monotonic()


def test_an_alarm_cuts_the_sleep_that_reaches_it_short(fake_clock: FakeClock) -> None:
    fired: list[float] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(clock.monotonic()))
    try:
        started = fake_clock.monotonic()
        assert fake_clock.alarm(2.0) == 0.0
        assert fake_clock.alarm_left() == 2.0
        clock.sleep(1.0)
        assert fired == []
        clock.sleep(5.0)  # the alarm goes off 1 s in; the handler did not raise
        assert fired == [started + 2.0]
        assert fake_clock.monotonic() == started + 6.0
        assert fake_clock.alarm_left() is None
        fake_clock.alarm(3.0)
        assert fake_clock.alarm(0) == 3.0  # what was left, and none now
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_waiter_gets_its_turn_at_each_of_its_times_as_a_sleep_passes() -> None:
    fake = FakeClock(start=0.0)
    stop = threading.Event()
    seen: list[float] = []

    def ticker() -> None:
        while not fake.wait(stop, 0.25):
            seen.append(fake.monotonic())

    thread = threading.Thread(target=ticker)
    with clock.using(fake):
        thread.start()
        while not fake._waiting:  # it waits on the clock now
            threading.Event().wait(0.001)
        clock.sleep(1.1)
        stop.set()
        thread.join(timeout=5)
    assert seen == [0.25, 0.5, 0.75, 1.0]  # each tick on time, none lost, none extra
    assert not thread.is_alive()


def test_the_systems_clock_really_waits(system_clock: Clock) -> None:
    stop = threading.Event()
    started = clock.monotonic()
    assert clock.wait(stop, 0.01) is False
    clock.sleep(0.01)
    assert clock.monotonic() - started >= 0.02
    stop.set()
    assert clock.wait(stop, 5) is True
    assert abs(clock.time() - __import__("time").time()) < 1
