"""How signals become exceptions while checks run, or are held off while the stack is
removed; the deadline on compose up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from smoke import clock, signals
from smoke.clock import FakeClock
from smoke.errors import Interrupted


def run_alone(script: str, *, timeout: float) -> subprocess.CompletedProcess[str]:
    """``script`` in a Python process and a session of its own: its signals reach no
    thread of the test runner, and a signal to its group not the runner's."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("sig", "name", "status"),
    [
        (signal.SIGINT, "SIGINT", 130),
        (signal.SIGTERM, "SIGTERM", 143),
        (signal.SIGHUP, "SIGHUP", 129),
    ],
)
def test_signals_become_interrupted_and_handlers_are_restored(
    sig: int, name: str, status: int
) -> None:
    def signalled() -> None:
        with signals.interruptible():
            os.kill(os.getpid(), sig)
            time.sleep(1)  # the handler raises before this ends

    before = signal.getsignal(sig)
    with pytest.raises(Interrupted) as caught:
        signalled()
    assert (caught.value.signal_name, caught.value.exit_code) == (name, status)
    assert signal.getsignal(sig) == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_shielded_blocks_ignore_the_signals(sig: int) -> None:
    with signals.interruptible(), signals.shielded():
        assert sig in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        os.kill(os.getpid(), sig)
        time.sleep(0.15)  # nothing raised, nothing ended


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_a_shield_is_answered_once_and_stops_nothing(sig: int) -> None:
    told: list[str] = []
    with signals.interruptible(), signals.shielded(told.append):
        os.kill(os.getpid(), sig)
        os.kill(os.getpid(), sig)
        deadline = time.monotonic() + 2
        while not told and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.15)
        assert told == [signal.Signals(sig).name]  # at once, while the work goes on
    assert told == [signal.Signals(sig).name]  # and never again
    assert sig not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # unblocked after


def test_a_shields_watcher_is_named_in_a_thread_dump_and_never_holds_the_process_open() -> None:
    with signals.shielded():
        watchers = [t for t in threading.enumerate() if t.name == "shield"]
        assert [t.daemon for t in watchers] == [True]
    assert not [t for t in threading.enumerate() if t.name == "shield"]


def test_a_shield_tells_the_first_of_two_different_signals_only_and_still_ends() -> None:
    """SIGINT then SIGTERM (which do not merge, as two of one kind do): one line."""
    script = (
        "import os, signal, time\n"
        "from smoke import signals\n"
        "told = []\n"
        "with signals.shielded(told.append):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(0.3)\n"
        "print(' '.join(told))\n"
    )
    done = run_alone(script, timeout=10)
    assert (done.returncode, done.stdout.split()) == (0, ["SIGINT"]), done.stderr


def test_a_signal_after_the_watchers_wait_ran_out_is_still_told_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The watcher waits in bounded turns; one that ran out empty waits again. The
    signal goes to the watcher's thread alone, so no thread of the test runner takes
    it."""
    monkeypatch.setattr(signals, "_WATCH_SECONDS", 0.05)  # a few turns run out here
    told = threading.Event()
    with signals.shielded(lambda name: told.set()):
        time.sleep(0.3)
        (watcher,) = [t for t in threading.enumerate() if t.name == "shield"]
        assert watcher.ident is not None
        signal.pthread_kill(watcher.ident, signal.SIGINT)
        assert told.wait(5)  # told while the shield still holds
    assert capsys.readouterr().err == ""  # no watcher died with a traceback


def test_a_child_started_in_a_shield_outlives_a_signal_to_its_group() -> None:
    """What Ctrl-C in a terminal does: the whole process group gets SIGINT. docker's
    own children must finish the teardown."""
    script = (
        "import os, signal, subprocess, sys, threading, time\n"
        "from smoke import signals\n"
        "with signals.shielded(lambda name: print('told', name, flush=True)):\n"
        "    threading.Timer(0.3, os.killpg, (0, signal.SIGINT)).start()\n"
        "    child = subprocess.run(['sleep', '0.6'])\n"
        "print('child exit', child.returncode, flush=True)\n"
    )
    done = run_alone(script, timeout=20)
    assert done.stdout.splitlines() == ["told SIGINT", "child exit 0"], done.stderr


def test_off_the_main_thread_nothing_is_installed() -> None:
    seen: list[object] = []

    def work() -> None:
        with signals.interruptible():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before]


def test_a_deadline_raises_timeout_and_puts_everything_back(fake_clock: FakeClock) -> None:
    before = signal.getsignal(signal.SIGALRM)
    started = fake_clock.monotonic()

    def work() -> None:
        for _ in range(20):
            clock.sleep(0.1)  # the alarm goes off in the sleep that reaches it

    with pytest.raises(TimeoutError), signals.deadline(0.1):
        work()
    assert fake_clock.monotonic() - started == pytest.approx(0.1)
    assert signal.getsignal(signal.SIGALRM) == before
    with signals.deadline(0.5):
        pass  # done in time: no alarm left behind
    assert fake_clock.alarm(0) == 0.0


@pytest.mark.usefixtures("system_clock")
def test_a_deadline_on_the_systems_clock_is_a_real_alarm() -> None:
    before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    with pytest.raises(TimeoutError), signals.deadline(0.1):
        time.sleep(2)
    assert time.monotonic() - started < 1
    assert signal.getsignal(signal.SIGALRM) == before
    signal.setitimer(signal.ITIMER_REAL, 0)  # the test runner's own alarm, aside
    with signals.deadline(0.5):
        pass  # done in time: no alarm left behind
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.usefixtures("system_clock")
def test_an_earlier_alarm_keeps_ticking_after_a_deadline() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with signals.deadline(0.2):
            pass
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 29 < left <= 30
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_an_earlier_alarm_is_put_back_with_what_is_left_of_it(fake_clock: FakeClock) -> None:
    fake_clock.alarm(30)  # a test runner's, say
    with signals.deadline(5):
        clock.sleep(2)
    assert fake_clock.alarm_left() == pytest.approx(28)
    fake_clock.alarm(1)
    with signals.deadline(5):
        clock.sleep(3)  # the earlier one came due meanwhile: it goes off at once
    assert fake_clock.alarm_left() == pytest.approx(0.001)


def test_no_deadline_without_seconds_or_off_the_main_thread() -> None:
    before = signal.getitimer(signal.ITIMER_REAL)[0]
    with signals.deadline(None):
        assert signal.getitimer(signal.ITIMER_REAL)[0] <= before
    seen: list[tuple[float, float]] = []

    def work() -> None:
        with signals.deadline(0.1):
            seen.append(signal.getitimer(signal.ITIMER_REAL))

    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    finally:
        signal.setitimer(signal.ITIMER_REAL, before)
    assert seen == [(0.0, 0.0)]


def test_a_signal_during_a_shield_is_never_raised_again_after_it() -> None:
    """A shield's watcher does not outlive it: a Ctrl-C told in one shield is not
    delivered again later, outside any handler, as a KeyboardInterrupt. In a process
    of its own: a test runner's threads block nothing, so one of them could take the
    signal and leave its handler to run whenever the loaded machine lets it."""
    script = (
        "import os, signal, time\n"
        "from smoke import signals\n"
        "told = []\n"
        "for _ in range(20):\n"
        "    with signals.shielded(told.append):\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "time.sleep(0.2)  # a late re-delivery would raise KeyboardInterrupt by now\n"
        "print(' '.join(told))\n"
    )
    done = run_alone(script, timeout=30)
    assert (done.returncode, done.stdout.split()) == (0, ["SIGINT"] * 20), done.stderr
