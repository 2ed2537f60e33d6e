"""Trace-based blame against the real stack: web and chat traced, their spans sent
back to the smoke, and each fault blamed on the right hop from the spans, also when
the services' error answers carry no text at all (a bare status)."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from python_on_whales import DockerClient

from tests.conftest import ROOT, leftovers
from tests.integration.faultkit import Run, run_fault, smoke_env
from tests.integration.report_page import rendered
from tests.integration.smoke_cli import smoke

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]

BARE = ("chat-faults", "web-bare")  # chat (FAULT_MODE has bare) and web answer bare statuses


def blame_line(run: Run) -> str:
    lines = [line.strip() for line in run.output.splitlines() if line.strip().startswith("blame: ")]
    assert len(lines) == 1, run.output
    return lines[0]


def spans_of(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(service, span) for every span of an OTLP/JSON file."""
    found = []
    for resource in json.loads(path.read_text())["resourceSpans"]:
        attributes = {a["key"]: a["value"] for a in resource["resource"]["attributes"]}
        service = attributes["service.name"]["stringValue"]
        for scope in resource["scopeSpans"]:
            found += [(service, span) for span in scope["spans"]]
    return found


@pytest.mark.parametrize("bare", [False, True], ids=["with-bodies", "bare-status"])
def test_chat_raising_is_blamed_on_chat_with_the_exception_type(
    clean_project: str, tmp_path: Path, bare: bool
) -> None:
    overrides = BARE if bare else ("chat-faults",)
    modes = "raise,bare" if bare else "raise"
    run = run_fault(clean_project, tmp_path, *overrides, FAULT_MODE=modes)
    assert run.returncode == 1, run.output
    assert "✗ web -> chat proxy call" in run.output
    assert blame_line(run) == "blame: web 500 ← chat 500: RuntimeError: catalog index corrupt"
    if bare:
        assert "web answered HTTP 500: \n" in run.output + "\n"  # nothing in the body
    # The span tree, indented: service, operation, status and duration.
    assert re.search(r"\n {6}smoke POST /api/chat/service {2}500 {2}\d+ ms\n", run.output)
    assert re.search(r"\n {12}chat POST /api/chat {2}500 {2}\d+ ms {2}RuntimeError", run.output)
    # Its log lines, picked by trace id, from both services.
    said = run.output.split("its log lines (by trace id", 1)[1].split("✓ teardown")[0]
    assert re.search(r"\n +chat-1 +\| ", said)
    assert re.search(r"\n +web-1 +\| ", said)
    assert "unhandled error on POST /api/chat" in said
    # The reports carry the blame too.
    junit = ET.parse(tmp_path / "e2e-junit.xml").getroot()
    failure = junit.find(".//failure")
    assert failure is not None
    assert "blame: web 500 ← chat 500: RuntimeError" in failure.get("message", "")
    assert leftovers(clean_project) == []


@pytest.mark.parametrize("bare", [False, True], ids=["with-bodies", "bare-status"])
def test_web_pointed_at_a_wrong_chat_port_is_blamed_on_its_call_to_chat(
    clean_project: str, tmp_path: Path, bare: bool
) -> None:
    overrides = ("web-wrong-chat", "web-bare") if bare else ("web-wrong-chat",)
    run = run_fault(clean_project, tmp_path, *overrides)
    assert run.returncode == 1, run.output
    assert blame_line(run) == (
        "blame: web 502 ← web → chat: connection refused (http://chat:9/api/chat)"
    )


@pytest.mark.parametrize("bare", [False, True], ids=["with-bodies", "bare-status"])
def test_db_not_serving_is_blamed_on_db_through_chats_span(
    clean_project: str, tmp_path: Path, bare: bool
) -> None:
    """db's container runs, postgres does not: chat answers 503 at once (it knows),
    and its request span carries db's state."""
    overrides = ("db-down", *BARE) if bare else ("db-down",)
    run = run_fault(clean_project, tmp_path, *overrides, args=("--timeout", "4"), FAULT_MODE="bare")
    assert run.returncode == 1, run.output
    assert re.fullmatch(
        r"blame: chat 503 ← db: unavailable for \d+\.\d s \(connection refused\)", blame_line(run)
    )
    assert "last log lines (db):" in run.output  # the service the trace never reached
    assert "db: postgres is stopped" in run.output


def test_a_slow_chat_is_named_on_a_slowest_line(clean_project: str, tmp_path: Path) -> None:
    """Over the duration budget, the time is blamed on the span that held it; the
    default retrieval spec catches the same fault on its own."""
    run = run_fault(
        clean_project,
        tmp_path,
        "chat-faults",
        args=("--max-duration", "2"),
        FAULT_MODE="slow",
        FAULT_DELAY="2",
    )
    assert run.returncode == 1, run.output
    assert re.search(
        r"spec: chat's retrieval within 500 ms \(web -> chat proxy call\): duration < 500ms: "
        r"duration was 2\.\d\d s \(chat retrieval\)",
        run.output,
    )
    run = run_fault(
        clean_project,
        tmp_path,
        "chat-faults",
        args=("--max-duration", "2", "--no-specs"),
        FAULT_MODE="slow",
        FAULT_DELAY="2",
    )
    assert run.returncode == 0, run.output  # over budget, not enforced
    assert "over budget: duration" in run.output
    slowest = [line.strip() for line in run.output.splitlines() if "slowest:" in line]
    assert len(slowest) == 1, run.output
    assert re.fullmatch(
        r"slowest: chat retrieval 2\.\d\d s of the 2\.\d\d s POST /api/chat/service "
        r"\(web -> chat proxy call\)",
        slowest[0],
    )


@pytest.mark.parametrize(
    ("overrides", "env", "blamed"),
    [
        pytest.param(
            ("web-spec-faults",),
            {"WEB_FAULT": "stall"},
            r"blame: web: no answer after [5-9]\.\d s \(its span POST /api/chat/service "
            r"never ended, no span under it came back\)",
            id="web-never-calls-chat",
        ),
        pytest.param(
            ("chat-faults",),
            {"FAULT_MODE": "slow"},
            r"blame: web ← chat: no answer after [4-9]\.\d s \(its span POST /api/chat "
            r"never ended(, no span under it came back)?\)",
            id="chat-holds-the-question",
        ),
    ],
)
def test_a_request_that_times_out_is_blamed_on_the_span_still_open(
    clean_project: str,
    tmp_path: Path,
    overrides: tuple[str, ...],
    env: dict[str, str],
    blamed: str,
) -> None:
    """Nobody answered within --timeout: the service whose server span was still open
    deepest (its start record came back, its end never did) holds the request."""
    run = run_fault(
        clean_project, tmp_path, *overrides, args=("--timeout", "8"), FAULT_DELAY="60", **env
    )
    assert run.returncode == 1, run.output
    assert "✗ web -> chat proxy call" in run.output
    assert re.search(r"timed out after [89]\.\d+s \(timeout 8s\)", run.output), run.output
    assert re.fullmatch(blamed, blame_line(run)), run.output
    assert "tracing off there" not in run.output
    assert run.seconds < 8 + 30  # the timeout, then logs and teardown
    assert leftovers(clean_project) == []


def test_the_failing_requests_lines_are_picked_by_trace_id(
    clean_project: str, tmp_path: Path
) -> None:
    """chat writes 500 unrelated lines right after the failing request: they do not
    crowd out its own lines (the last 20 lines would be nothing but them)."""
    run = run_fault(clean_project, tmp_path, "chat-faults", FAULT_MODE="raise,chatty")
    assert run.returncode == 1, run.output
    assert "unrelated line 499" in run.log  # they were written, before the evidence
    said = run.output.split("its log lines (by trace id", 1)[1].split("✓ teardown")[0]
    assert "unhandled error on POST /api/chat" in said
    assert "unrelated line" not in said


def test_the_trace_file_and_the_timeline_page(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, "chat-faults", FAULT_MODE="raise")
    assert run.returncode == 1, run.output
    spans = spans_of(tmp_path / "e2e-trace.json")
    services = {service for service, _ in spans}
    assert {"smoke", "web", "chat"} <= services
    by_trace: dict[str, set[str]] = {}
    for service, span in spans:
        by_trace.setdefault(span["traceId"], set()).add(service)
    assert any({"web", "chat"} <= seen for seen in by_trace.values())
    page = (tmp_path / "e2e-report.html").read_text()
    assert "blame: web 500 ← chat 500" in page
    steps = [
        line
        for line in run.output.splitlines()
        if re.match(r"  [✓✗] ", line) and "trace spec" not in line
    ]
    shown = rendered(tmp_path / "e2e-report.html")
    assert shown["errors"] == []
    assert shown["steps"] == len(steps)
    assert shown["containers"] == 3  # db, chat and web, from the engine
    assert shown["failed"] >= 1


def _containers(project: str) -> dict[str, tuple[str, str]]:
    """service -> (container id, started at) of the project's containers."""
    docker = DockerClient()
    found = docker.container.list(
        all=True, filters=[("label", f"com.docker.compose.project={project}")]
    )
    return {
        c.config.labels["com.docker.compose.service"]: (c.id, str(c.state.started_at))
        for c in found
    }


def test_a_stopped_db_on_a_kept_stack_is_named_at_once_and_nothing_restarts(
    clean_project: str, tmp_path: Path
) -> None:
    kept = run_fault(clean_project, tmp_path, args=("--keep-stack",))
    try:
        assert kept.returncode == 0, kept.output
        before = _containers(clean_project)
        again = run_fault(clean_project, tmp_path, args=("--keep-stack", "--no-build"))
        assert again.returncode == 0, again.output
        assert _containers(clean_project) == before  # tracing recreated nothing
        DockerClient().container.stop(before["db"][0])
        time.sleep(1)  # chat's watch notices within a second
        started = time.monotonic()
        attached = run_fault(clean_project, tmp_path, args=("--attach",))
        took = time.monotonic() - started
        assert attached.returncode == 1, attached.output
        # At once: far inside the default 60 s wait, with room for a loaded machine.
        assert took < 20, attached.output
        assert "✗ attach" in attached.output
        assert re.search(
            r"db is exited \(exit code 0 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\); "
            r"nothing was started or restarted \(--attach\)",
            attached.output,
        )
        # chat says what it last saw of db as the container went: its connection
        # ended by the shutdown, then refused while the stopped container is still on
        # the network, then its name gone or its address silent once it has left.
        assert re.fullmatch(
            r"blame: chat 503 ← db: unavailable for \d+\.\d s \((db shut down|"
            r"connection refused|db host not found|connection timed out)\)",
            blame_line(attached),
        )
        after = _containers(clean_project)
        assert after == {**before, "db": after["db"]}  # web and chat untouched
        assert DockerClient().container.inspect(before["db"][0]).state.status == "exited"
        assert "stack kept" in attached.output
        # A compose-mode rerun starts db again, and says so.
        rerun = run_fault(clean_project, tmp_path, args=("--keep-stack", "--no-build"))
        assert rerun.returncode == 0, rerun.output
        assert re.search(
            r"✓ compose up +\d+\.\d\ds  started again: db \(was exited\)", rerun.output
        )
    finally:
        down = smoke("teardown", "--project", clean_project)
        assert down.returncode == 0, down.output


def test_a_chat_recreated_by_hand_sending_its_spans_elsewhere_is_named_with_where(
    clean_project: str, tmp_path: Path
) -> None:
    """chat recreated by hand without the run's settings sends its spans to the
    default port: `--attach` names that endpoint and the one this run reads."""
    kept = run_fault(clean_project, tmp_path, args=("--keep-stack",))
    try:
        assert kept.returncode == 0, kept.output
        env = smoke_env(COMPOSE_PROJECT_NAME=clean_project)
        env.pop("SMOKE_TRACE_PORT", None)
        by_hand = subprocess.run(
            [
                "docker",
                "compose",
                "-p",
                clean_project,
                "up",
                "-d",
                "--no-build",
                "--no-deps",
                "--force-recreate",
                "chat",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert by_hand.returncode == 0, by_hand.stderr
        DockerClient().container.stop(_containers(clean_project)["db"][0])
        time.sleep(1)  # chat's watch notices within a second
        attached = run_fault(clean_project, tmp_path, args=("--attach",))
        assert attached.returncode == 1, attached.output
        assert attached.seconds < 10, attached.output
        assert re.search(
            r"no trace: chat sent no span all run: it sends them to "
            r"http://host\.docker\.internal:4318/v1/traces, and this run reads them at "
            r"http://host\.docker\.internal:\d+/v1/traces; it was started without this "
            r"run's settings \(recreated by hand\?\): a run without --attach recreates it "
            r"with them",
            attached.output,
        ), attached.output
        assert "web sent no span" not in attached.output  # web was not asked
    finally:
        down = smoke("teardown", "--project", clean_project)
        assert down.returncode == 0, down.output


def test_no_trace_sends_no_context_and_says_so(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, args=("--no-trace",), FAULT_MODE="raise")
    assert run.returncode == 0, run.output
    assert "smoke: trace: off: requests carry no trace context" in run.output
    assert "no trace: no span came back" in run.output
    assert "trace_id=" not in run.log  # no request was traced by the services
    assert {service for service, _ in spans_of(tmp_path / "e2e-trace.json")} <= {"smoke"}


def test_a_secret_in_a_span_is_masked_in_every_file(clean_project: str, tmp_path: Path) -> None:
    """chat's exception message carries a key: the spans hold it, no output does."""
    key = f"sk-{uuid.uuid4().hex}"
    run = run_fault(clean_project, tmp_path, "chat-faults", FAULT_MODE="raise", FAULT_SECRET=key)
    assert run.returncode == 1, run.output
    assert (
        blame_line(run)
        == "blame: web 500 ← chat 500: RuntimeError: catalog index corrupt (key ****)"
    )
    assert key not in run.everything
    for name in ("e2e-trace.json", "e2e-report.html", "e2e-junit.xml", "e2e-metrics.txt"):
        text = (tmp_path / name).read_text()
        assert key not in text, name
    assert "(key ****)" in (tmp_path / "e2e-trace.json").read_text()


def test_a_paused_chat_under_attach_is_said_paused_with_the_fix_that_works(
    clean_project: str, tmp_path: Path
) -> None:
    kept = run_fault(clean_project, tmp_path, args=("--keep-stack",))
    try:
        assert kept.returncode == 0, kept.output
        chat = _containers(clean_project)["chat"][0]
        DockerClient().container.pause(chat)
        attached = run_fault(clean_project, tmp_path, args=("--attach",))
        assert attached.returncode == 1, attached.output
        assert "chat is paused; nothing was started or restarted (--attach)" in attached.output
        fix = f"docker compose -p {clean_project} unpause chat"
        assert f"`{fix}`" in attached.output
        # The hint works as printed, and the stack then passes as it is.
        unpaused = subprocess.run(
            fix.split(), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
        assert unpaused.returncode == 0, unpaused.stderr
        again = run_fault(clean_project, tmp_path, args=("--attach",))
        assert again.returncode == 0, again.output
    finally:
        down = smoke("teardown", "--project", clean_project)
        assert down.returncode == 0, down.output


@pytest.mark.parametrize(
    ("chat_url", "cause"),
    [
        ("https://chat:8000", r"SSL: [A-Z_]+ \(https://chat:8000/api/chat\)"),
        (
            "http://no-such-chat:8000",
            r"(name or service not known|temporary failure in name resolution) "
            r"\(http://no-such-chat:8000/api/chat\)",
        ),
    ],
    ids=["tls-to-http", "name-not-resolved"],
)
def test_web_failing_to_reach_chat_is_blamed_on_the_most_specific_cause(
    clean_project: str, tmp_path: Path, chat_url: str, cause: str
) -> None:
    started = time.monotonic()
    run = run_fault(clean_project, tmp_path, "web-wrong-chat", FAULT_CHAT_URL=chat_url)
    assert run.returncode == 1, run.output
    assert "✗ web -> chat proxy call" in run.output
    peer = chat_url.split("//")[1].split(":")[0]  # the host web called
    assert re.fullmatch(rf"blame: web 502 ← web → {peer}: {cause}", blame_line(run)), run.output
    assert "not permitted" not in run.output
    assert "unknown error" not in run.output
    assert time.monotonic() - started < 60  # at once: the first answer is definitive
    assert leftovers(clean_project) == []


def test_a_chat_without_its_dependencies_route_fails_at_once_not_at_the_timeout(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(
        clean_project, tmp_path, "chat-faults", args=("--timeout", "60"), FAULT_MODE="no-deps"
    )
    assert run.returncode == 1, run.output
    assert "✗ chat dependency health (db)" in run.output
    assert re.search(
        r"/health/dependencies answered HTTP 404 twice in a row, \d+\.\d s apart, from the "
        r"same container: /health/dependencies is not served",
        run.output,
    ), run.output
    hint = next(line for line in run.output.splitlines() if line.strip().startswith("hint: "))
    for about_db in ("credentials", "seeded"):  # no db hint: db is fine
        assert about_db not in hint
    assert run.seconds < 30  # the 60 s timeout never waited out
    assert leftovers(clean_project) == []


def test_a_container_recreated_by_hand_is_named_when_the_run_recreates_it(
    clean_project: str, tmp_path: Path
) -> None:
    kept = run_fault(clean_project, tmp_path, args=("--keep-stack",))
    try:
        assert kept.returncode == 0, kept.output
        # By hand: web started again with another setting (its spans to its log).
        by_hand = subprocess.run(
            ["docker", "compose", "-p", clean_project, "up", "-d", "--no-build", "web"],
            cwd=ROOT,
            env=smoke_env(SMOKE_TRACE_EXPORT="log", COMPOSE_PROJECT_NAME=clean_project),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert by_hand.returncode == 0, by_hand.stderr
        hand_made = _containers(clean_project)["web"][0]
        rerun = run_fault(clean_project, tmp_path, args=("--keep-on-failure", "--no-build"))
        assert rerun.returncode == 0, rerun.output
        before = tmp_path / "e2e-compose.before-up.log"
        assert re.search(
            r"✓ compose up +\d+\.\d\ds  recreated: web \(its configuration changed\); "
            rf"their logs from before: {re.escape(str(before))}$",
            rerun.output,
            re.M,
        )
        # The hand-made web's own lines are there, its container gone.
        assert any(line.startswith("web-1") for line in before.read_text().splitlines())
        assert hand_made not in [c.id for c in DockerClient().container.list(all=True)]
    finally:
        down = smoke("teardown", "--project", clean_project)
        assert down.returncode == 0, down.output


def test_compose_up_is_traced_as_its_build_then_its_create_and_start(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path)  # builds (from the cache), then `up`
    assert run.returncode == 0, run.output
    smoke_spans = {
        span["name"]: span
        for service, span in spans_of(tmp_path / "e2e-trace.json")
        if service == "smoke"
    }
    up, build, start = (smoke_spans[n] for n in ("compose up", "build", "create and start"))
    assert build["parentSpanId"] == start["parentSpanId"] == up["spanId"]
    begins = [int(s["startTimeUnixNano"]) for s in (up, build, start)]
    ends = [int(s["endTimeUnixNano"]) for s in (build, start, up)]
    assert begins == sorted(begins)
    assert ends == sorted(ends)
    assert int(build["endTimeUnixNano"]) <= int(start["startTimeUnixNano"])
    page = (tmp_path / "e2e-report.html").read_text()
    assert "smoke build" in page
    assert "smoke create and start" in page


def test_a_chat_clock_an_hour_ahead_is_said_and_its_spans_put_on_the_smokes_clock(
    clean_project: str, tmp_path: Path
) -> None:
    started = time.time()
    run = run_fault(clean_project, tmp_path, "chat-faults", "chat-clock-ahead", FAULT_MODE="raise")
    ended = time.time()
    assert run.returncode == 1, run.output
    assert blame_line(run) == "blame: web 500 ← chat 500: RuntimeError: catalog index corrupt"
    said = re.search(
        r"smoke: trace: chat's clock is (\d+\.\d) s ahead; its spans are shifted", run.output
    )
    assert said is not None, run.output
    assert 3599 <= float(said.group(1)) <= 3601
    # Every span on the smoke's clock: inside the run, and the page is the run's length.
    for service, span in spans_of(tmp_path / "e2e-trace.json"):
        begun = int(span["startTimeUnixNano"]) / 1e9
        assert started - 1 <= begun <= ended + 1, (service, span["name"])
    page = (tmp_path / "e2e-report.html").read_text()
    shown = re.search(r"\d+ steps, (\d+\.\d+) s shown", page)
    assert shown is not None
    assert float(shown.group(1)) < ended - started + 1
    assert "chat&#x27;s clock is" in page or "chat's clock is" in page
    assert run.seconds < 60


def test_an_answer_web_cannot_read_is_blamed_on_chat_that_wrote_it(
    clean_project: str, tmp_path: Path
) -> None:
    """chat's answer claims gzip over a plain body: chat's span and web's call to it
    say 200, and web fails reading the body. The blame names chat's answer."""
    run = run_fault(clean_project, tmp_path, "chat-faults", FAULT_MODE="malformed")
    assert run.returncode == 1, run.output
    assert "✗ web -> chat proxy call" in run.output
    assert re.fullmatch(
        r"blame: web 50\d ← chat 200: its answer was malformed \(web could not read it: "
        r"DecodingError: .+\)",
        blame_line(run),
    ), run.output
    assert run.seconds < 60
    assert leftovers(clean_project) == []


@pytest.mark.parametrize(
    ("service", "step", "host_variable"),
    [("chat", "chat health", "CHAT_HOST"), ("web", "web -> chat proxy call", "WEB_HOST")],
)
def test_a_service_listening_only_on_its_loopback_is_named_within_seconds(
    clean_project: str, tmp_path: Path, service: str, step: str, host_variable: str
) -> None:
    run = run_fault(
        clean_project,
        tmp_path,
        "loopback",
        args=("--timeout", "60"),
        **{host_variable: "127.0.0.1"},
    )
    assert run.returncode == 1, run.output
    assert f"✗ {step}" in run.output
    assert (
        f"{service} listens only on its loopback address inside its container, so nothing "
        "outside the container can reach it"
    ) in run.output
    assert f"make {service} listen on 0.0.0.0 (every address) inside its container" in run.output
    assert run.seconds < 30, run.output  # not the 60 s timeout
    assert leftovers(clean_project) == []


def test_a_healthy_chat_whose_app_listens_on_another_port_is_named_within_seconds(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "chat-other-port", args=("--timeout", "60"))
    assert run.returncode == 1, run.output
    assert "✗ chat health" in run.output
    assert (
        "nothing listens on chat's port inside its container, while another port there does"
    ) in run.output
    assert "chat's app listens on another port than the one its compose service publishes" in (
        run.output
    )
    assert run.seconds < 40, run.output  # not the 60 s timeout
    assert leftovers(clean_project) == []
