"""Before and after the work of a stack-starting command: the logs kept, even when
compose is interrupted once, and an internal error's traceback after them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from smoke import lifecycle
from smoke.ended import Ended
from smoke.report.console import Console
from tests.unit.fakes import FakeDocker, docker_error, run_marks, stack

# -- the one lifecycle, as run_smoke and fuzz use it ----------------------------------


def smoke_run(
    tmp_path: Path, docker: FakeDocker, services: Any = None, **overrides: Any
) -> tuple[str, BaseException | None]:
    from smoke.run import run_smoke
    from tests.unit.fakes import FakeServices, run_options

    out = io.StringIO()
    error: BaseException | None = None
    try:
        run_smoke(
            run_options(log_file=tmp_path / "e2e.log", **overrides),
            console=Console(out, tty=False),
            stack=stack(docker) if "web_url" not in overrides else None,
            transport=(services or FakeServices()).transport(),
        )
    except BaseException as exc:  # what escaped is what the test looks at
        error = exc
    return out.getvalue(), error


class Reapers:
    def __init__(self) -> None:
        self.started: list[tuple[Any, ...]] = []
        self.released = 0

    def start(self, project: str, files: Any, log_file: Path, **kwargs: Any) -> Any:
        self.started.append((project, log_file))
        reapers = self

        class Handle:
            def release(self) -> None:
                reapers.released += 1

        return Handle()


def test_the_claim_gets_the_runs_reaper_wish_its_log_file_and_its_keeping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.stack import claim

    reapers = Reapers()
    monkeypatch.setattr(claim.reaper_module, "start", reapers.start)
    _, error = smoke_run(tmp_path, FakeDocker(), reaper=True)
    assert error is None
    assert reapers.started == [("p", tmp_path / "e2e.log")]
    assert reapers.released == 1
    _, error = smoke_run(tmp_path, FakeDocker(), reaper=False)
    assert reapers.started == [("p", tmp_path / "e2e.log")]  # none this time
    _, error = smoke_run(tmp_path, FakeDocker(), reaper=True, keep="always")
    assert error is None
    assert len(reapers.started) == 1  # a kept stack gets none


def test_a_kept_mark_that_cannot_be_written_is_said_on_the_runs_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.fakes import FakeServices

    docker = FakeDocker()
    real_create = docker.volume.create
    created: list[str] = []

    def create_once(*args: Any, **kwargs: Any) -> Any:
        created.append(args[0])
        if len(created) > 1:  # the run's claim succeeds; turning it "kept" fails
            raise docker_error("volume create")
        return real_create(*args, **kwargs)

    docker.volume.create = create_once
    output, error = smoke_run(
        tmp_path, docker, FakeServices(proxy_status=500), keep="on-failure", reaper=False
    )
    assert error is not None
    assert "smoke: warning: could not mark the stack of project p as kept" in output


def test_a_bug_outside_any_step_is_an_error_with_its_name(tmp_path: Path) -> None:
    from smoke.checks.probes import FixedEndpoints
    from tests.unit.fakes import run_options

    class Buggy:
        def prepare(self) -> None:
            pass

        def __call__(self, session: lifecycle.Session) -> None:
            raise RuntimeError("boom")

        def stop(self) -> None:
            return None

        def released(self) -> None:
            pass

    ended: list[Ended] = []
    options = run_options(web_url="http://w", chat_url="http://c", log_file=tmp_path / "l")
    with pytest.raises(RuntimeError):
        lifecycle.run(
            options.stack,
            Buggy(),
            console=Console(io.StringIO(), tty=False),
            headline=["smoke: x"],
            fixed=FixedEndpoints("http://w", "http://c"),
            report=ended.append,
        )
    (end,) = ended
    assert (end.result, end.stopped_by, end.failure) == ("error", "RuntimeError: boom", None)
    assert (end.ending, end.stack, end.storage_driver) == ("untouched", None, None)


def test_a_teardown_that_errors_leaves_the_stack_to_the_reaper_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.stack import claim

    reapers = Reapers()
    monkeypatch.setattr(claim.reaper_module, "start", reapers.start)
    docker = FakeDocker()
    docker.fail["container remove"] = docker_error("container remove", 1, "engine gone")
    docker.fail["compose down"] = docker_error("compose down", 1, "engine gone")
    output, error = smoke_run(tmp_path, docker, reaper=True)
    assert type(error).__name__ == "DockerCallFailed"
    assert "stack NOT removed (its reaper will)" in output
    assert reapers.started
    assert reapers.released == 0  # the reaper stays on watch: it removes the stack


def test_a_url_run_that_fails_says_it_read_no_logs(tmp_path: Path) -> None:
    from tests.unit.fakes import FakeServices

    output, error = smoke_run(
        tmp_path,
        FakeDocker(),
        FakeServices(proxy_status=502),
        web_url="http://127.0.0.1:3000",
        chat_url="http://127.0.0.1:8000",
    )
    assert error is not None
    assert (
        "    no log lines: this run checks a stack it did not start (--web-url/--chat-url), "
        "so it reads no logs; a kept stack's: `nox -s logs`"
    ) in output


def test_a_run_made_without_an_env_reads_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from smoke.stack.compose import Stack
    from tests.unit.fakes import FakeServices, run_options

    made: list[object] = []

    def make(target: Any, *, env: object) -> Stack:
        made.append(env)
        return stack(FakeDocker())

    monkeypatch.setattr("smoke.lifecycle.Stack", make)
    from smoke.run import run_smoke

    run_smoke(
        run_options(log_file=tmp_path / "e2e.log"),
        console=Console(io.StringIO(), tty=False),
        transport=FakeServices().transport(),
    )
    assert made == [os.environ]


def test_no_build_with_the_local_stack_needs_the_local_image(tmp_path: Path) -> None:
    docker = FakeDocker()
    del docker.images["p-chat:local"]  # the minimal chat alone was built
    _, error = smoke_run(
        tmp_path, docker, build=False, install_local_stack=True, profile="full", browser=False
    )
    assert type(error).__name__ == "ImagesMissing"
    assert "p-chat:local" in str(error)
    _, error = smoke_run(tmp_path, docker, build=False, browser=False)  # lite: what it has
    assert error is None


def test_a_kept_run_marks_its_stack_kept_from_the_start(tmp_path: Path) -> None:

    docker = FakeDocker()
    _, error = smoke_run(tmp_path, docker, keep="always", reaper=False)
    assert error is None
    (mark,) = run_marks(docker)
    assert mark["io.contoso-smoke.kept"] == "1"


def chat_sends_spans_in_its_log(docker: FakeDocker, services: Any) -> None:
    """chat answers /health/dependencies 503 and logs, for each traced request, its
    server span (db down) and an access line, as contoso_telemetry's log route does."""
    import json
    import re

    import httpx

    def record(request: httpx.Request) -> None:
        match = re.fullmatch(r"00-(\w{32})-(\w{16})-01", request.headers.get("traceparent", ""))
        if not match or request.url.path != "/health/dependencies":
            return
        trace_id, parent = match.groups()
        span = {
            "traceId": trace_id,
            "spanId": parent[::-1],  # one of its own per request
            "parentSpanId": parent,
            "name": "GET /health/dependencies",
            "kind": 2,
            "startTimeUnixNano": "1764842400000000000",
            "endTimeUnixNano": "1764842400001000000",
            "status": {"code": 2, "message": "db unavailable: db host not found"},
            "attributes": [
                {"key": "http.response.status_code", "value": {"intValue": "503"}},
                {"key": "db.state.reason", "value": {"stringValue": "db host not found"}},
                {"key": "db.state.unavailable_seconds", "value": {"doubleValue": 2.5}},
            ],
        }
        resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "chat"}}]}
        line = json.dumps(
            {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}
        )
        own = docker.service_logs.setdefault("chat", [])
        own.append(f"2026-12-04T10:00:00.000000000Z {line}")
        own.append(
            f"2026-12-04T10:00:00.000000001Z GET 503 trace_id={trace_id} span_id={parent[::-1]}"
        )

    services.on_request = record


def test_a_failed_steps_blame_comes_from_the_spans_in_the_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.trace import route
    from tests.unit.fakes import FakeServices

    monkeypatch.setattr(route, "choose", lambda engine, project: route.Route("log", None, 20001))
    docker = FakeDocker()
    services = FakeServices(db_status=503)
    chat_sends_spans_in_its_log(docker, services)
    output, error = smoke_run(tmp_path, docker, services, junit_xml=tmp_path / "j.xml")
    assert error is not None
    assert error.blame == "blame: chat 503 ← db: unavailable for 2.5 s (db host not found)"  # type: ignore[attr-defined]
    lines = output.splitlines()
    assert f"    {error.blame}" in lines  # type: ignore[attr-defined]
    assert "    the failing request's spans:" in lines
    assert "    its log lines (by trace id, 1 of 1):" in lines
    assert "slowest:" not in output  # a wait that timed out polling: no one request to blame
    trace = (tmp_path / "e2e-trace.json").read_text()
    assert '"chat"' in trace  # read back from the log file written before teardown
    page = (tmp_path / "e2e-report.html").read_text()
    assert "contoso-smoke: failed" in page
    assert "db host not found" in (tmp_path / "j.xml").read_text()


def test_trace_files_that_cannot_be_written_are_said_and_the_run_reports(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    out = io.StringIO()
    from smoke.run import run_smoke
    from tests.unit.fakes import FakeServices, run_options

    outcome = run_smoke(
        run_options(log_file=blocked / "e2e.log"),
        console=Console(out, tty=False),
        stack=stack(FakeDocker()),
        transport=FakeServices().transport(),
    )
    assert outcome.result == "passed"
    said = [line for line in out.getvalue().splitlines() if "trace files" in line]
    assert said == [f"could not write the trace files: [Errno 17] File exists: '{blocked}'"]


def test_a_docker_error_reading_the_containers_times_costs_only_their_bars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.stack.client import translated
    from smoke.stack.compose import Stack

    def broken(self: Stack) -> list[Any]:  # as the stack's edge hands it out
        raise translated(docker_error("container list", 1, "engine busy"))

    monkeypatch.setattr(Stack, "times", broken)
    output, error = smoke_run(tmp_path, FakeDocker())
    assert error is None, output
    assert "bar container" not in (tmp_path / "e2e-report.html").read_text()


def test_only_this_runs_screenshot_goes_in_the_timeline(tmp_path: Path) -> None:
    import os

    stale = tmp_path / "e2e-web.png"
    stale.write_bytes(b"\x89PNG")
    os.utime(stale, (1, 1))  # from a run long ago
    smoke_run(tmp_path, FakeDocker(), screenshot=stale)
    assert "data:image/png" not in (tmp_path / "e2e-report.html").read_text()
    fresh = tmp_path / "now.png"
    fresh.write_bytes(b"\x89PNG")  # as a failing browser step of this run leaves it

    from tests.unit.fakes import FakeServices

    services = FakeServices()
    services.on_request = lambda request: fresh.touch()
    smoke_run(tmp_path, FakeDocker(), services, screenshot=fresh)
    assert "data:image/png;base64,iVBORw==" in (tmp_path / "e2e-report.html").read_text()


def test_a_run_whose_checks_pass_fails_on_a_spec_its_spans_break(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every check passes, but chat's span of the dependency check is an error: the
    built-in spec fails the run, from the spans read back from the log file."""
    from smoke.errors import SpecFailed
    from smoke.trace import route
    from smoke.trace.specs import BUILT_IN
    from tests.unit.fakes import FakeServices

    monkeypatch.setattr(route, "choose", lambda engine, project: route.Route("log", None, 20001))
    docker, services = FakeDocker(), FakeServices()
    chat_sends_spans_in_its_log(docker, services)
    output, error = smoke_run(
        tmp_path, docker, services, specs=(BUILT_IN,), metrics_file=tmp_path / "m.txt"
    )
    assert isinstance(error, SpecFailed), output
    assert "✓ chat dependency health (db)" in output or "ok chat dependency health (db)" in output
    assert "trace spec: no error span in a passing step" in output
    metrics = (tmp_path / "m.txt").read_text().splitlines()
    assert "result=failed" in metrics
    assert any(line.startswith("specs_seconds=") for line in metrics)
    page = (tmp_path / "e2e-report.html").read_text()
    assert "contoso-smoke: failed" in page
    assert page.count('class="row span failed selected"') == 1  # the span the spec broke on
