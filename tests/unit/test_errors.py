"""The exception tree keeps its context as data, as the console and reports read it."""

from __future__ import annotations

from smoke.errors import BudgetExceeded, CheckFailed, Interrupted, ProxyCallFailed


def test_a_check_not_yet_run_by_a_step_has_no_step_and_no_time() -> None:
    failure = CheckFailed("x")
    assert (failure.step, failure.elapsed, failure.status, failure.body) == ("", 0.0, None, None)
    assert (failure.hint, failure.services) == ("see e2e-compose.log", ("db", "chat", "web"))


def test_a_failure_can_name_its_own_hint_and_services() -> None:
    failure = ProxyCallFailed("x", hint="look at web", services=("web",), status=502, body="b")
    assert (failure.hint, failure.services, failure.status, failure.body) == (
        "look at web",
        ("web",),
        502,
        "b",
    )
    assert ProxyCallFailed("y").hint == ProxyCallFailed.hint


def test_an_interrupt_and_a_budget_keep_what_they_say() -> None:
    stopped = Interrupted("SIGTERM", exit_code=143)
    assert (str(stopped), stopped.signal_name, stopped.exit_code) == ("SIGTERM", "SIGTERM", 143)
    over = BudgetExceeded("over", budget="duration", measured=9.5, limit=5)
    assert (str(over), over.budget, over.measured, over.limit) == ("over", "duration", 9.5, 5)
