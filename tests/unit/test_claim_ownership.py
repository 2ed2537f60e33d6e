"""A run's mark: who owns a stack, and what the next run makes of it."""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from smoke.stack.claim import Owner, judge
from smoke.stack.marks import MARK_LABEL

NOW = datetime.now(UTC)


def dead_owner(kept: bool = False, host: str | None = None) -> Owner:
    finished = subprocess.Popen(["true"])
    finished.wait()
    pid = finished.pid  # a process that has ended
    return Owner(pid, "1", host or socket.gethostname(), NOW - timedelta(minutes=5), kept)


def test_labels_round_trip_and_name_the_project() -> None:
    owner = Owner.this_process(kept=True)
    labels = owner.labels("p1")
    assert labels[MARK_LABEL] == "p1"
    assert Owner.from_labels(labels) == Owner(
        owner.pid, owner.process_start, owner.host, owner.started_at.replace(microsecond=0), True
    )


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"io.contoso-smoke.owner-pid": "x", "io.contoso-smoke.started-at": "2026-11-30"},
        {"io.contoso-smoke.owner-pid": "12"},
    ],
)
def test_unreadable_labels_are_no_owner(labels: dict[str, str]) -> None:
    assert Owner.from_labels(labels) is None


def test_this_process_is_alive_and_a_finished_one_is_not() -> None:
    assert Owner.this_process(kept=False).alive() is True
    assert dead_owner().alive() is False


def test_a_reused_pid_is_not_the_owner() -> None:
    me = Owner.this_process(kept=False)
    if not me.process_start:
        pytest.skip("no /proc here to tell a reused PID")
    impostor = Owner(os.getpid(), str(int(me.process_start) + 1), me.host, me.started_at, False)
    assert impostor.alive() is False


def test_an_owner_on_another_host_cannot_be_told() -> None:
    assert dead_owner(host="elsewhere.example").alive() is None


def test_describe_names_when_pid_and_host() -> None:
    text = Owner(4242, "", "box", NOW, False).describe()
    assert text.startswith(f"started {NOW.astimezone():%Y-%m-%d} ")
    assert text.endswith("by PID 4242 on box")


def judged(owner: Owner | None, *, exists: bool = True, budget: float = 420) -> str:
    return judge(owner, stack_exists=exists, now=NOW, max_run_seconds=budget).standing


def test_a_live_owner_holds_the_project_even_before_its_stack_exists() -> None:
    me = Owner.this_process(kept=False)
    assert judged(me, exists=False) == "in use"  # it may be starting the stack right now
    assert judged(me) == "in use"
    assert judged(Owner.this_process(kept=True)) == "in use"  # kept, but still running


def test_a_dead_owners_mark_without_a_stack_is_a_leftover() -> None:
    assert judged(dead_owner(), exists=False) == "free"
    assert judged(dead_owner(kept=True), exists=False) == "free"
    assert judged(None, exists=False) == "free"


def test_an_unreadable_mark_owns_nothing() -> None:
    assert judged(None) == "kept"  # the stack is left as found, and reused


def test_a_kept_mark_is_kept_once_its_owner_is_gone() -> None:
    verdict = judge(dead_owner(kept=True), stack_exists=True, now=NOW, max_run_seconds=420)
    assert verdict.standing == "kept"
    assert verdict.owner is not None
    assert verdict.owner.kept


def test_a_dead_owners_stack_is_stale() -> None:
    dead = judge(dead_owner(), stack_exists=True, now=NOW, max_run_seconds=420)
    assert dead.standing == "stale"
    assert dead.owner is not None


def test_another_hosts_run_is_stale_only_after_its_budget() -> None:
    far = dead_owner(host="elsewhere.example")  # started 5 minutes before NOW
    assert judged(far, budget=3600) == "in use"
    assert judged(far, budget=60) == "stale"


def test_another_hosts_run_is_stale_at_exactly_its_budget() -> None:
    far = dead_owner(host="elsewhere.example")  # started 5 minutes before NOW
    assert judged(far, budget=300) == "stale"


def test_another_hosts_kept_stack_is_kept() -> None:
    assert judged(dead_owner(kept=True, host="elsewhere.example"), budget=3600) == "kept"


def test_this_process_records_its_start_as_the_kernel_counts_it() -> None:
    from pathlib import Path

    fields = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    owner = Owner.this_process(kept=False)
    assert owner.process_start == fields[19]
    assert owner.labels("p")["io.contoso-smoke.kept"] == "0"


def test_a_process_name_with_a_parenthesis_does_not_shift_the_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pathlib import Path

    from smoke.stack import claim as ownership

    stat = "77 (odd) name) S " + " ".join(str(n) for n in range(1, 30))
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: stat)
    assert ownership._process_start(77) == "19"  # field 22: state is field 3


def test_a_process_that_is_gone_has_no_start() -> None:
    from smoke.stack import claim as ownership

    assert ownership._process_start(dead_owner().pid) == ""


def test_labels_without_start_or_host_read_as_empty() -> None:
    labels = Owner.this_process(kept=False).labels("p")
    del labels["io.contoso-smoke.owner-start"], labels["io.contoso-smoke.owner-host"]
    owner = Owner.from_labels(labels)
    assert owner is not None
    assert (owner.process_start, owner.host) == ("", "")
