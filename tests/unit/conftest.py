"""Fixtures the fast tests share."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from smoke import clock
from smoke.clock import Clock, FakeClock


@pytest.fixture(autouse=True)
def fake_clock() -> Iterator[FakeClock]:
    """Every fast test on a fake clock: the smoke's waits move it at once, so no test
    really sleeps, and none depends on how loaded the machine is."""
    with clock.using(FakeClock()) as fake:
        assert isinstance(fake, FakeClock)
        yield fake


@pytest.fixture
def system_clock(fake_clock: FakeClock) -> Iterator[Clock]:
    """The system's clock, for a test of what only it does (a real SIGALRM)."""
    with clock.using(Clock()) as real:
        yield real


@pytest.fixture
def listener() -> Iterator[int]:
    """A port on 127.0.0.1 that something listens on: a taken port."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])
