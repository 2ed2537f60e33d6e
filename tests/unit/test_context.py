"""The smoke's side of a trace: a trace per step, a traceparent per request, its own
spans for the tree (and for the requests that got no answer)."""

from __future__ import annotations

import contextlib
import re
import threading

import httpx
import pytest

from smoke.trace.context import BACKGROUND, NO_ANSWER, Tracer, traceparent
from smoke.trace.spans import KIND_CLIENT, KIND_INTERNAL, STATUS_ERROR, STATUS_OK, STATUS_UNSET

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def echo(seen: list[httpx.Request], status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/down":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    return httpx.MockTransport(handler)


def test_each_request_of_a_step_carries_its_traceparent_and_is_a_span() -> None:
    tracer = Tracer(clock=Clock())
    seen: list[httpx.Request] = []
    with tracer.client(echo(seen, 500)) as client:
        with tracer.step("chat health"):
            client.get("http://chat/health")
            client.get("http://chat/health")
        with tracer.step("proxy call"):
            client.post("http://web/api/chat/service")
        client.get("http://chat/after")  # outside a step: no trace
    first, second, third, after = (
        TRACEPARENT.fullmatch(r.headers.get("traceparent", "")) for r in seen
    )
    assert first
    assert second
    assert third
    assert after is None
    health, proxy = tracer.trace_of("chat health"), tracer.trace_of("proxy call")
    assert first.group(1) == second.group(1) == health
    assert third.group(1) == proxy != health
    assert first.group(2) != second.group(2)  # a span per request
    assert tracer.trace_ids == {health, proxy}
    assert tracer.steps() == {"chat health": health, "proxy call": proxy}
    spans = {s.span_id: s for s in tracer.spans()}
    request = spans[first.group(2)]
    step = spans[request.parent_id or ""]
    assert (step.name, step.kind, step.parent_id, step.status) == (
        "chat health",
        KIND_INTERNAL,
        None,
        STATUS_OK,
    )
    assert (request.name, request.kind, request.service) == ("GET /health", KIND_CLIENT, "smoke")
    assert request.attributes == {
        "http.request.method": "GET",
        "url.full": "http://chat/health",
        "http.response.status_code": 500,
    }
    assert request.status == STATUS_ERROR  # a 5xx, from 500 on
    assert step.start < request.start < request.end <= step.end  # type: ignore[operator]


def test_a_request_without_an_answer_ends_with_its_step_as_no_answer() -> None:
    tracer = Tracer(clock=Clock())
    seen: list[httpx.Request] = []
    with tracer.client(echo(seen)) as client:
        try:
            with tracer.step("proxy call"):
                client.get("http://web/ok")
                with pytest.raises(httpx.ConnectError):
                    client.get("http://web/down")
                raise RuntimeError("the step failed")
        except RuntimeError:
            pass
    by_name = {s.name: s for s in tracer.spans()}
    step, ok, down = by_name["proxy call"], by_name["GET /ok"], by_name["GET /down"]
    assert step.status == STATUS_ERROR
    assert ok.status == STATUS_OK
    # Ended when it failed, before its step did, saying why.
    assert (down.status, down.message) == (STATUS_ERROR, f"{NO_ANSWER}: ConnectError: refused")
    assert down.end is not None
    assert step.end is not None
    assert down.start < down.end < step.end


def test_a_request_still_open_when_its_step_ends_counts_its_time_so_far() -> None:
    tracer = Tracer(clock=Clock())
    with tracer.step("chat health"):
        tracer.on_request(httpx.Request("GET", "http://chat/health"))  # never answered
    by_name = {s.name: s for s in tracer.spans()}
    poll, step = by_name["GET /health"], by_name["chat health"]
    assert (poll.status, poll.message, poll.end) == (STATUS_ERROR, NO_ANSWER, step.end)
    tracer.on_error(httpx.Request("GET", "http://x"), httpx.ConnectError("late"))  # not ours
    assert tracer.spans() == list(by_name.values())


@pytest.mark.parametrize(("fails", "status"), [(False, STATUS_OK), (True, STATUS_ERROR)])
def test_the_browsers_page_span_ends_as_its_step_did(fails: bool, status: int) -> None:
    """Its requests are the browser's, not httpx's: no answer is seen here, and the
    step's own verdict says whether the page answered."""
    tracer = Tracer(clock=Clock())
    with contextlib.suppress(RuntimeError), tracer.step("web page (browser)"):
        tracer.headers("browser page")
        if fails:
            raise RuntimeError("the page showed no answer")
    by_name = {s.name: s for s in tracer.spans()}
    page, step = by_name["browser page"], by_name["web page (browser)"]
    assert (page.status, page.message, page.end) == (status, "", step.end)


def test_headers_for_the_browser_are_a_span_under_the_current_step() -> None:
    tracer = Tracer()
    assert tracer.headers("browser page") == {}  # no step: nothing to join
    with tracer.step("web page (browser)"):
        headers = tracer.headers("browser page")
    match = TRACEPARENT.fullmatch(headers["traceparent"])
    assert match
    assert match.group(1) == tracer.trace_of("web page (browser)")
    (page,) = [s for s in tracer.spans() if s.name == "browser page"]
    assert page.span_id == match.group(2)


def test_off_sends_nothing_and_records_nothing() -> None:
    tracer = Tracer(enabled=False)
    seen: list[httpx.Request] = []
    with tracer.client(echo(seen)) as client, tracer.step("chat health"):
        client.get("http://chat/health")
        assert tracer.headers("browser page") == {}
    assert "traceparent" not in seen[0].headers
    assert tracer.spans() == []
    assert tracer.trace_of("chat health") is None


def test_requests_from_other_threads_join_the_running_step() -> None:
    tracer = Tracer()
    seen: list[httpx.Request] = []
    with tracer.client(echo(seen)) as client, tracer.step("chat dependency health (db)"):
        worker = threading.Thread(target=client.get, args=("http://chat/openapi.json",))
        worker.start()
        worker.join()
    match = TRACEPARENT.fullmatch(seen[0].headers["traceparent"])
    assert match
    assert match.group(1) == tracer.trace_of("chat dependency health (db)")


def test_a_response_the_tracer_did_not_start_is_left_alone() -> None:
    tracer = Tracer()
    response = httpx.Response(200, request=httpx.Request("GET", "http://x"))
    tracer.on_response(response)
    assert tracer.spans() == []
    assert traceparent("a" * 32, "b" * 16) == f"00-{'a' * 32}-{'b' * 16}-01"
    assert STATUS_UNSET == 0


def test_a_wait_marks_the_try_it_retries_on_its_span() -> None:
    from smoke.trace.context import RETRIED, mark_retried

    tracer = Tracer(clock=Clock())
    with tracer.step("chat health"):
        first, second = (
            httpx.Request("GET", "http://chat/health"),
            httpx.Request("GET", "http://chat/health"),
        )
        tracer.on_request(first)
        tracer.on_request(second)
        mark_retried(first)
    tries = [s for s in tracer.spans() if s.name == "GET /health"]
    assert [s.attributes.get(RETRIED, False) for s in tries] == [True, False]
    mark_retried(httpx.Request("GET", "http://elsewhere"))  # no span of ours: nothing to mark


@pytest.mark.parametrize(("fails", "status"), [(False, STATUS_OK), (True, STATUS_ERROR)])
def test_a_phase_is_a_span_of_its_own_under_its_step(fails: bool, status: int) -> None:
    tracer = Tracer(clock=Clock())
    with contextlib.suppress(RuntimeError), tracer.step("compose up"):
        with tracer.phase("build"):
            pass
        with tracer.phase("create and start"):
            if fails:
                raise RuntimeError("compose up failed")
    by_name = {s.name: s for s in tracer.spans()}
    step, build, up = by_name["compose up"], by_name["build"], by_name["create and start"]
    assert build.parent_id == up.parent_id == step.span_id
    assert (build.kind, build.status) == (KIND_INTERNAL, STATUS_OK)
    assert (up.kind, up.status) == (KIND_INTERNAL, status)
    assert step.start <= build.start < build.end <= up.start < up.end <= step.end
    quiet = Tracer(enabled=False)
    with quiet.phase("build"):  # tracing off, or no step: nothing recorded
        pass
    assert quiet.spans() == []


def test_work_carried_to_another_thread_stays_in_its_step_marked_background() -> None:
    tracer = Tracer()
    seen: list[httpx.Request] = []
    with tracer.client(echo(seen)) as client:
        with tracer.step("chat dependency health (db)"):
            fetch = tracer.carry(lambda: client.get("http://chat/openapi.json"))
            client.get("http://chat/health/dependencies")
        worker = threading.Thread(target=fetch)  # runs after the step ended
        worker.start()
        worker.join()
    spans = {s.name: s for s in tracer.spans() if s.kind == KIND_CLIENT}
    step = tracer.trace_of("chat dependency health (db)")
    assert spans["GET /openapi.json"].trace_id == step
    assert spans["GET /openapi.json"].attributes[BACKGROUND] is True
    assert BACKGROUND not in spans["GET /health/dependencies"].attributes
