"""Definitive answers end a wait early: a probe path answering 404, 405 or a redirect,
the same twice in a row, a moment apart, from the same container run."""

from __future__ import annotations

import httpx
import pytest

from smoke import clock
from smoke.checks import probes
from smoke.checks.probes import FixedEndpoints, Probe
from smoke.errors import ChatHealthTimeout, DependencyFailure
from smoke.masking import excerpt
from smoke.stack.state import ServiceState

APART = 0.05


@pytest.fixture(autouse=True)
def confirm_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probes, "DEFINITIVE_AFTER_SECONDS", APART)


class Runs:
    """The engine's view of chat: the container run changes after ``restart_after`` asks."""

    def __init__(self, restart_after: int | None = None) -> None:
        self.asks = 0
        self.restart_after = restart_after
        self.asked: set[str] = set()

    def state(self, service: str) -> ServiceState:
        self.asks += 1
        self.asked.add(service)
        run = "2" if self.restart_after is not None and self.asks > self.restart_after else "1"
        return ServiceState("running", None, 0, None, "no", container=f"c{run}", started_at=run)

    def listening(self, service: str) -> bool | None:
        return True

    def url(self, service: str) -> str:
        return "http://chat"


def probe(answer: httpx.Response, *, watcher: object = None, timeout: float = 5.0) -> Probe:
    client = httpx.Client(transport=httpx.MockTransport(lambda request: answer))
    return Probe(FixedEndpoints("http://web", "http://chat"), timeout, client, watcher=watcher)  # type: ignore[arg-type]


def test_a_missing_dependencies_route_fails_at_once_without_a_word_of_db() -> None:
    started = clock.monotonic()
    with pytest.raises(DependencyFailure) as caught:
        probe(httpx.Response(404, json={"detail": "Not Found"}), watcher=Runs()).chat_dependencies()
    took = clock.monotonic() - started
    assert APART <= took < 2  # not the 5 s timeout
    said = str(caught.value)
    assert said.startswith(
        "chat dependency (db) failed: /health/dependencies answered HTTP 404 twice in a row, "
    )
    assert said.endswith("from the same container: /health/dependencies is not served")
    assert caught.value.status == 404
    assert "db" not in caught.value.hint.replace("/health/dependencies", "")
    assert "chat must answer GET /health/dependencies itself with 200" in caught.value.hint
    assert not caught.value.timed_out


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_definitive_and_says_where_it_leads(status: int) -> None:
    moved = httpx.Response(status, headers={"location": "/healthz"})
    with pytest.raises(ChatHealthTimeout, match=r"/health redirects to /healthz"):
        probe(moved, watcher=Runs()).chat_health()


def test_a_method_not_allowed_is_definitive_too_and_needs_no_engine() -> None:
    with pytest.raises(ChatHealthTimeout, match=r"answered HTTP 405 twice in a row"):
        probe(httpx.Response(405)).chat_health()  # --chat-url: no engine to ask


def test_a_404_from_a_container_that_restarted_meanwhile_starts_over() -> None:
    """A restart between the two sightings: the first one no longer counts."""
    runs = Runs(restart_after=1)
    with pytest.raises(ChatHealthTimeout) as caught:
        probe(httpx.Response(404), watcher=runs).chat_health()
    assert "twice in a row" in str(caught.value)
    # The first sighting; the second, from a new run, is a first of its own; the third
    # confirms it: one ask each, and one for the new run's own sighting.
    assert runs.asks == 4
    assert runs.asked == {"chat"}


@pytest.mark.parametrize(
    ("status", "definitive"),
    [(299, False), (300, True), (301, True), (399, True), (400, False), (404, True), (500, False)],
)
def test_what_answer_is_definitive(status: int, definitive: bool) -> None:
    assert probes._definitive(status) is definitive


def test_the_definitive_failure_says_when_what_and_where_to_look() -> None:
    runs = Runs()
    with pytest.raises(DependencyFailure) as caught:
        probe(httpx.Response(404, text="no such route " * 40), watcher=runs).chat_dependencies()
    assert str(caught.value) == (
        "chat dependency (db) failed: /health/dependencies answered HTTP 404 twice in a row, "
        "0.1 s apart, from the same container: /health/dependencies is not served"
    )
    assert caught.value.body == excerpt("no such route " * 40)  # one line, cut
    assert caught.value.hint == (
        "chat must answer GET /health/dependencies itself with 200 (the smoke follows no "
        "redirect): check chat's routes, and that the compose file's chat is the service "
        "the runbook means"
    )
    assert runs.asked == {"chat"}


def test_other_answers_are_waited_for_until_the_timeout() -> None:
    with pytest.raises(ChatHealthTimeout) as caught:
        probe(httpx.Response(503), watcher=Runs(), timeout=0.3).chat_health()
    assert caught.value.timed_out
    assert "not ready after" in str(caught.value)
