"""The plan's steps as a run shows them: what `compose up` is asked for, the notes
on a step's line, and what each contract failure carries."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from smoke.clock import FakeClock
from smoke.errors import ContractDrift, ImagesMissing
from tests.unit.fakes import FakeDocker, FakeServices, chat_openapi
from tests.unit.test_run import run


def test_compose_up_builds_unless_told_not_to(tmp_path: Path) -> None:
    for build in (True, False):
        docker = FakeDocker()
        _, error = run(tmp_path, docker, FakeServices(), build=build)
        assert error is None
        ((_, kwargs),) = [(a, k) for name, a, k in docker.asked if name == "compose up"]
        assert kwargs["no_build"] is True
        assert ("compose build" in docker.calls) is build


def test_a_build_removes_the_images_it_replaced_and_no_build_removes_none(
    tmp_path: Path,
) -> None:
    docker = FakeDocker(dangling={"sha256:old": "p", "sha256:theirs": "q"})
    _, error = run(tmp_path, docker, FakeServices(), build=False)
    assert error is None
    assert "image list" not in docker.calls  # --no-build replaced nothing
    _, error = run(tmp_path, docker, FakeServices(), build=True)
    assert error is None
    assert docker.dangling == {"sha256:theirs": "q"}


def test_no_build_without_this_projects_images_stops_before_anything_starts(
    tmp_path: Path,
) -> None:
    docker = FakeDocker()
    del docker.images["p-web:latest"]
    output, error = run(tmp_path, docker, FakeServices(), build=False)
    assert isinstance(error, ImagesMissing), output
    assert str(error) == "--no-build: project p has not built p-web:latest"
    assert "compose up" not in docker.calls
    assert docker.volumes == {}  # the claim made beside the checks is given back


def test_compose_up_is_bounded_by_the_runs_timeout(tmp_path: Path, fake_clock: FakeClock) -> None:
    docker = FakeDocker()
    seen: list[float | None] = []
    original = docker.compose.up

    def up(*args: Any, **kwargs: Any) -> None:
        seen.append(fake_clock.alarm_left())
        original(*args, **kwargs)

    docker.compose.up = up
    _, error = run(tmp_path, docker, FakeServices(), timeout=0.7)
    assert error is None
    (armed,) = seen
    assert armed is not None
    assert armed == pytest.approx(0.7)  # the alarm --timeout set, running while compose works
    assert fake_clock.alarm_left() is None  # and gone once compose is done


@pytest.mark.parametrize("verb", ["up", "build"])
def test_compose_builds_and_starts_the_chat_image_asked_for(tmp_path: Path, verb: str) -> None:
    tags: list[str | None] = []
    docker = FakeDocker()
    original = getattr(docker.compose, verb)

    def seen(*args: Any, **kwargs: Any) -> None:
        tags.append(docker.env.get("CHAT_IMAGE_TAG"))
        original(*args, **kwargs)

    setattr(docker.compose, verb, seen)
    health = {"status": "ok", "stack": "local", "model": "m", "dimension": 384}
    for local in (False, True):
        run(
            tmp_path,
            docker,
            FakeServices(health=health),
            profile="full",
            browser=False,
            build=True,
            install_local_stack=local,
        )
    assert tags == ["lite", "local"]


def test_the_dependency_step_notes_dbs_latency(tmp_path: Path) -> None:
    timed = {"status": "ok", "dependencies": {"db": {"status": "ok", "latency_ms": 12}}}
    output, _ = run(tmp_path, FakeDocker(), FakeServices(db_body=timed))
    line = next(x for x in output.splitlines() if "✓ chat dependency health (db)" in x)
    assert line.endswith("  db 12 ms")
    untimed = {"status": "ok", "dependencies": {"db": {"status": "ok"}}}
    output, _ = run(tmp_path, FakeDocker(), FakeServices(db_body=untimed))
    line = next(x for x in output.splitlines() if "✓ chat dependency health (db)" in x)
    assert line.endswith("  db ? ms")


def test_the_local_stack_step_notes_the_model(tmp_path: Path) -> None:
    health = {"status": "ok", "stack": "local", "model": "all-MiniLM-L6-v2", "dimension": 384}
    from smoke.plan import PARAPHRASES

    meant = dict(PARAPHRASES)
    services = FakeServices(health=health)

    def by_meaning(request: httpx.Request) -> None:
        if request.url.path == "/api/chat/service":
            sku = meant.get(json.loads(request.content)["question"], "TENT-002")
            services.chat_body = {"answer": "a", "conversation_id": "c1", "sources": [sku]}

    services.on_request = by_meaning
    output, _ = run(
        tmp_path,
        FakeDocker(),
        services,
        profile="full",
        browser=False,
        install_local_stack=True,
    )
    line = next(x for x in output.splitlines() if "✓ chat local stack" in x)
    assert line.endswith("  all-MiniLM-L6-v2, 384 dimensions")
    line = next(x for x in output.splitlines() if "✓ semantic retrieval" in x)
    assert line.endswith(f"  {len(PARAPHRASES)} paraphrases, each its product first")


def test_schema_drift_shows_the_body_web_returned(tmp_path: Path) -> None:
    body = {"answer": "Try it.", "conversation_id": 7, "sources": []}
    services = FakeServices(chat_body=body, openapi=chat_openapi())
    _, error = run(tmp_path, FakeDocker(), services)
    assert isinstance(error, ContractDrift)
    assert (error.status, error.body) == (
        200,
        '{"answer": "Try it.", "conversation_id": 7, "sources": []}',
    )
    assert str(error) == (
        "response contract drift against chat's schema: $.conversation_id: expected string, "
        "got integer"
    )


def test_strict_contract_without_a_schema_says_what_chat_must_publish(tmp_path: Path) -> None:
    _, error = run(tmp_path, FakeDocker(), FakeServices(openapi=None), strict_contract=True)
    assert isinstance(error, ContractDrift)
    assert error.hint == "chat must publish its OpenAPI document at GET /openapi.json"
    assert str(error) == (
        "response contract: no schema to check against (--strict-contract): "
        "chat GET /openapi.json answered HTTP 404"
    )


def test_the_browser_step_asks_webs_page_the_runs_question_within_its_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.checks.probes import QUESTION

    asked: list[tuple[str, str, float, Path]] = []
    sent: list[dict[str, str]] = []

    class Page:
        def ask(
            self,
            web_url: str,
            question: str,
            *,
            timeout: float,
            screenshot: Path,
            headers: Mapping[str, str] | None = None,
        ) -> str:
            asked.append((web_url, question, timeout, screenshot))
            sent.append(dict(headers or {}))
            return "Try the SkyView tent."

        went_away = None
        network_changed = None

        def begin_close(self) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr("smoke.checks.browser.find_browser", lambda env=None: object())
    monkeypatch.setattr("smoke.checks.browser.start", lambda browser: Page())
    output, error = run(tmp_path, FakeDocker(), FakeServices(), profile="full", timeout=0.7)
    assert error is None, output
    assert asked == [("http://127.0.0.1:3000", QUESTION, 0.7, tmp_path / "e2e-web.png")]
    # The page and its fetches carry the step's trace, under a span named for it.
    (headers,) = sent
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", headers["traceparent"])
    spans = json.loads((tmp_path / "e2e-trace.json").read_text())["resourceSpans"][0]
    names = [span["name"] for span in spans["scopeSpans"][0]["spans"]]
    assert "browser page" in names
    line = next(x for x in output.splitlines() if "✓ web page (browser)" in x)
    assert line.endswith("  answer shown")


def test_a_full_run_checked_against_the_schema_reads_the_exchange_back(tmp_path: Path) -> None:
    services = FakeServices(openapi=chat_openapi())
    output, error = run(tmp_path, FakeDocker(), services, profile="full", browser=False)
    assert error is None, output
    line = next(x for x in output.splitlines() if "✓ response contract" in x)
    assert line.endswith("  matches chat's /openapi.json")
    assert "✓ conversation persisted" in output


def test_every_schema_violation_is_named(tmp_path: Path) -> None:
    body = {"answer": "Try it.", "conversation_id": 7, "sources": "TENT-002"}
    services = FakeServices(chat_body=body, openapi=chat_openapi())
    _, error = run(tmp_path, FakeDocker(), services)
    assert isinstance(error, ContractDrift)
    assert str(error) == (
        "response contract drift against chat's schema: $.conversation_id: expected string, "
        "got integer; $.sources: expected array, got string"
    )


def test_the_teardown_removes_what_up_made_without_listing_it_again(tmp_path: Path) -> None:
    import time

    def a_moment(request: Any) -> None:
        time.sleep(0.02)  # as the real checks take, so the listing beside them is done

    docker = FakeDocker()
    _, error = run(tmp_path, docker, FakeServices(on_request=a_moment))
    assert error is None
    calls = docker.calls
    teardown = calls[calls.index("compose logs") + 1 :]
    # Removed directly from the listing made beside the checks, then checked gone.
    assert teardown[: teardown.index("container remove")].count("container list") == 0


def test_a_listing_cancelled_when_the_run_stopped_is_no_listing() -> None:
    """Ctrl-C before the listing after `up` ran: the teardown lists for itself."""
    from concurrent.futures import Future

    from smoke.plan import listed_resources

    cancelled: Future[object] = Future()
    cancelled.cancel()
    context = cast(Any, SimpleNamespace(background={"resources": cancelled}))
    assert listed_resources(context) is None
