"""The fault matrix, for real: each fault is injected from outside the services
(compose overrides, stopped containers, signals), and every time the run must name
the right step and failure class, exit with the right status, write
e2e-compose.log with the relevant service's lines, and leave nothing behind."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, leftovers
from tests.integration.faultkit import (
    PASSWORD,
    Run,
    metrics,
    one_line_error,
    read_until,
    run_fault,
    smoke_env,
    start_fault,
)

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("lite_images")]


def assert_secrets_masked(tmp_path: Path, run: Run) -> None:
    for name in ("e2e-metrics.txt", "e2e-junit.xml"):
        path = tmp_path / name
        if path.exists():
            assert PASSWORD not in path.read_text(), name
    for name in ("e2e-trace.json", "e2e-report.html"):  # every run writes them
        assert PASSWORD not in (tmp_path / name).read_text(), name
    assert PASSWORD not in run.everything


# -- checks that fail --------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    overrides: tuple[str, ...]
    step: str
    failure_class: str
    log_line: str  # a line the log file must hold
    said: tuple[str, ...] = ()  # patterns the output must also show
    env: tuple[tuple[str, str], ...] = ()
    # Bounds the waits that are meant to fail; the healthy steps before them must
    # pass within it too, also on a loaded CI machine.
    timeout: str = "8"


CHECK_FAULTS = [
    pytest.param(
        Fault(
            ("db-down",),
            "chat dependency health (db)",
            "chat dependency health (db)",
            "db: postgres is stopped",
            said=(r"connection refused",),
        ),
        id="db-stopped",
    ),
    pytest.param(
        Fault(
            ("db-broken",),
            "chat dependency health (db)",
            "service crashed",
            'unrecognized configuration parameter "no_such_setting"',
            said=(r"db exited with code 1 and no restart policy will bring it back",),
        ),
        id="db-exits-at-start",
    ),
    pytest.param(
        Fault(
            ("web-image-missing",),
            "compose up",
            "compose failure",
            "",
            said=(r"compose said:", r"contoso-smoke/no-such-image:never"),  # compose's own words
        ),
        id="compose-up-fails",
    ),
    pytest.param(
        Fault(
            ("chat-drift",),
            "web -> chat proxy call",
            "web -> chat proxy call non-200",
            "chat-1",
            said=(r"web answered HTTP 500", r"upstream exploded"),
            env=(("FAULT_MODE", "status-500"),),
        ),
        id="chat-500",
    ),
    pytest.param(
        Fault(
            ("web-wrong-chat",),
            "web -> chat proxy call",
            "web -> chat proxy call non-200",
            "web-1",
            said=(r"web answered HTTP 502", r"chat unreachable at http://chat:9"),
        ),
        id="web-wrong-chat-address",
    ),
    pytest.param(
        Fault(
            ("chat-drift",),
            "response contract",
            "response contract drift",
            "chat-1",
            said=(r"no 'answer' or 'response' field \(fields: conversation_id, reply\)",),
            env=(("FAULT_MODE", "renamed"),),
        ),
        id="drift-renamed",
    ),
    pytest.param(
        Fault(
            ("chat-drift",),
            "response contract",
            "response contract drift",
            "chat-1",
            said=(r"'answer' is a int, not a string",),
            env=(("FAULT_MODE", "not-string"),),
        ),
        id="drift-not-string",
    ),
    pytest.param(
        Fault(
            ("chat-drift",),
            "response contract",
            "response contract drift",
            "chat-1",
            said=(r"the body is not JSON",),
            env=(("FAULT_MODE", "not-json"),),
        ),
        id="drift-not-json",
    ),
    pytest.param(
        Fault(
            ("chat-drift",),
            "response contract",
            "response contract drift",
            "chat-1",
            said=(r"'answer' is an empty string",),
            env=(("FAULT_MODE", "empty"),),
        ),
        id="drift-empty",
    ),
    pytest.param(
        Fault(
            ("web-drift",),
            "response contract",
            "response contract drift",
            "web-1",
            said=(r"\$\.sources: expected array, got string",),
            env=(("FAULT_MODE", "sources-string"),),
        ),
        id="schema-sources-string",
    ),
    pytest.param(
        Fault(
            ("web-drift",),
            "response contract",
            "response contract drift",
            "web-1",
            said=(r"\$\.conversation_id: expected string, got integer",),
            env=(("FAULT_MODE", "id-number"),),
        ),
        id="schema-id-number",
    ),
    pytest.param(
        Fault(
            ("web-drift",),
            "response contract",
            "response contract drift",
            "web-1",
            said=(r"\$: 'sources' is a required property",),
            env=(("FAULT_MODE", "no-sources"),),
        ),
        id="schema-field-missing",
    ),
    pytest.param(
        Fault(
            ("chat-drift",),
            "web -> chat proxy call",
            "web -> chat proxy call timeout",
            "chat-1",
            said=(
                r"timed out after 8\.\d+s \(timeout 8s\)",
                # chat's stand-in sends no span: web's call, open, is the deepest
                r"blame: web → chat: no answer after \d\.\d s \(its call POST "
                r"http://chat:8000/api/chat never came back\)",
            ),
            env=(("FAULT_MODE", "slow"), ("FAULT_DELAY", "30")),
            # Well under the delay, and room for `up` (bound by it too) on a loaded machine.
            timeout="8",
        ),
        id="chat-slower-than-timeout",
    ),
]


@pytest.mark.parametrize("fault", CHECK_FAULTS)
def test_fault_is_named_shown_logged_and_cleaned(
    clean_project: str, tmp_path: Path, fault: Fault
) -> None:
    run = run_fault(
        clean_project,
        tmp_path,
        *fault.overrides,
        args=("--timeout", fault.timeout),
        **dict(fault.env),
    )
    assert run.returncode == 1, run.output
    assert f"✗ {fault.step}" in run.output
    assert f"failure class: {fault.failure_class}" in run.output
    for pattern in fault.said:  # what was seen travels with the failure
        assert re.search(pattern, run.output), f"{pattern!r} not in:\n{run.output}"
    assert f"FAIL  smoke lite: {fault.step} failed" in run.output
    assert "✓ teardown" in run.output
    assert fault.log_line in run.log, run.log
    metrics = (tmp_path / "e2e-metrics.txt").read_text().splitlines()
    assert "result=failed" in metrics
    assert f"failure_class={fault.failure_class}" in metrics
    assert leftovers(clean_project) == []
    assert run.seconds < 120  # bounded: nothing waited for ever


# (override, what the output must say, a pattern) for faults the engine makes
# certain at once
CRASHES = [
    pytest.param(
        "chat-exits",
        r"chat exited with code 3 and no restart policy will bring it back",
        id="chat-exits-3",
    ),
    pytest.param(
        "chat-crashloop",
        # The exit code is known once the engine was asked while chat was down.
        r"chat is crash-looping: restarted [3-9] times(, last exit code 3)? \(after",
        id="chat-crash-loop",
    ),
]


@pytest.mark.parametrize(("override", "said"), CRASHES)
def test_a_crashing_chat_fails_long_before_the_timeout(
    clean_project: str, tmp_path: Path, override: str, said: str
) -> None:
    started = time.monotonic()
    run = run_fault(clean_project, tmp_path, override, args=("--timeout", "60"))
    assert run.returncode == 1, run.output
    assert "✗ chat health" in run.output
    assert re.search(said, run.output), run.output
    assert "failure class: service crashed" in run.output
    assert "chat: fatal: cannot load model" in run.output  # its own last words
    assert "crashing at start" not in run.output
    assert leftovers(clean_project) == []
    assert time.monotonic() - started < 20


def test_password_is_masked_everywhere(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, "db-leaks-password")
    assert run.returncode == 0, run.output
    assert "leaking POSTGRES_PASSWORD=****" in run.log
    assert_secrets_masked(tmp_path, run)


def test_url_passwords_and_api_keys_are_masked_whole(clean_project: str, tmp_path: Path) -> None:
    key = f"sk-{uuid.uuid4().hex}"
    run = run_fault(clean_project, tmp_path, "chat-leaks-urls", FAULT_API_KEY=key)
    assert run.returncode == 0, run.output
    assert "connecting to postgresql://contoso:****@db/contoso with key ****" in run.log
    assert_secrets_masked(tmp_path, run)
    assert key not in run.everything
    for name in ("e2e-metrics.txt", "e2e-junit.xml"):
        assert key not in (tmp_path / name).read_text(), name


def test_a_value_named_with_secret_is_masked_everywhere(clean_project: str, tmp_path: Path) -> None:
    value = f"cfg-{uuid.uuid4().hex}"
    plain = run_fault(clean_project, tmp_path, "chat-prints-config", FAULT_CONFIG_VALUE=value)
    assert plain.returncode == 0, plain.output
    assert f"config: {value}" in plain.log  # no rule knows it: only --secret can
    masked = run_fault(
        clean_project,
        tmp_path,
        "chat-prints-config",
        args=("--secret", "FAULT_CONFIG_VALUE"),
        FAULT_CONFIG_VALUE=value,
    )
    assert masked.returncode == 0, masked.output
    assert "config: ****" in masked.log
    assert value not in masked.everything
    for name in ("e2e-metrics.txt", "e2e-junit.xml"):
        assert value not in (tmp_path / name).read_text(), name


def test_a_common_password_leaves_ordinary_words_readable(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "chat-leaks-urls", POSTGRES_PASSWORD="postgres")
    assert run.returncode == 0, run.output
    assert "connecting to postgresql://contoso:****@db/contoso" in run.log
    assert "****ql" not in run.everything


def test_service_text_can_write_no_workflow_command_and_drive_no_terminal(
    clean_project: str, tmp_path: Path
) -> None:
    """chat logs and answers lines that try to start a workflow command after \\r, \\v,
    \\f, U+2028 or U+0085, a `##[warning]` mid-line, and ANSI escapes; under GitHub
    Actions none of it may act, outside or inside the smoke's stop-commands blocks."""
    run = run_fault(
        clean_project, tmp_path, "chat-drift", FAULT_MODE="hostile", GITHUB_ACTIONS="true"
    )
    assert run.returncode == 1, run.output
    assert "✗ web -> chat proxy call" in run.output
    assert "\x1b" not in run.output  # no raw ESC: the smoke's own colours are off in a pipe
    for raw in ("\r", "\v", "\f", "\u2028", "\u0085"):
        assert raw not in run.output, repr(raw)
    token = None
    own = 0
    for line in run.output.split("\n"):
        text = line.lstrip()  # as the runner reads it
        if token is None and text.startswith("::stop-commands::"):
            token = text.removeprefix("::stop-commands::")
            assert len(token) == 32
            continue
        if token is not None:
            if text == f"::{token}::":
                token = None
            continue
        assert "##[" not in text, line
        if text.startswith("::"):
            assert text.startswith("::error title=smoke: web -> chat proxy call::"), line
            own += 1
    assert token is None  # every block was closed
    assert own == 1
    # What chat wrote is shown, neutralised, and the log file keeps it as written.
    assert "chat says ##\\[warning]mid-line-injected" in run.output
    assert "a\\r::error::cr-injected" in run.output
    assert "\\x1b[2J" in run.output
    assert "a\r::error::cr-injected" in run.log
    assert "d\u2028::error::ls-injected" in run.log
    assert leftovers(clean_project) == []


def test_a_plain_ok_health_is_healthy(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, "chat-drift", FAULT_MODE="plain-health")
    assert run.returncode == 0, run.output
    assert "✓ chat health" in run.output
    assert "Traceback" not in run.output


def test_a_schema_that_does_not_resolve_falls_back_or_fails_strictly(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "chat-drift", FAULT_MODE="dangling-ref")
    assert run.returncode == 0, run.output
    assert (
        "runbook rule only: chat its schema has a $ref that does not resolve: "
        "/components/schemas/NoSuchSchema"
    ) in run.output
    strict = run_fault(
        clean_project,
        tmp_path,
        "chat-drift",
        args=("--strict-contract",),
        FAULT_MODE="dangling-ref",
    )
    assert strict.returncode == 1, strict.output
    assert "✗ response contract" in strict.output
    assert "failure class: response contract drift" in strict.output
    assert "Traceback" not in strict.output
    assert metrics(tmp_path)["failure_class"] == "response contract drift"
    assert leftovers(clean_project) == []


def test_healthy_but_not_yet_listening_is_waited_for_not_called_unreachable(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "chat-late-loose-health", args=("--timeout", "30"))
    assert run.returncode == 0, run.output
    assert "unreachable" not in run.output
    health = next(line for line in run.output.splitlines() if "✓ chat health" in line)
    assert float(health.split()[-1].rstrip("s")) > 3  # it waited for chat to listen
    assert leftovers(clean_project) == []


def test_chat_killed_while_the_smoke_waits_for_db_is_said_killed(
    clean_project: str, tmp_path: Path
) -> None:
    process = start_fault(clean_project, tmp_path, "db-down", args=("--timeout", "30"))
    try:
        read_until(process, "✓ chat health", time.monotonic() + 60)
        time.sleep(2.5)  # long enough for the engine to have called chat healthy
        subprocess.run(
            ["docker", "kill", f"{clean_project}-chat-1"], check=True, capture_output=True
        )
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, output
    assert "✗ chat dependency health (db)" in output
    assert "chat was killed (exit code 137, SIGKILL)" in output
    assert "failure class: service crashed" in output
    assert "unreachable" not in output
    assert leftovers(clean_project) == []


def test_an_oom_killed_chat_is_named_with_its_limit_and_lines(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "chat-oom", args=("--timeout", "30"))
    assert run.returncode == 1, run.output
    assert "✗ chat health" in run.output
    assert "chat was OOM-killed (memory limit 48 MiB, exit code 137)" in run.output
    assert "failure class: service crashed" in run.output
    assert "chat: loading a large model" in run.output  # its own last words
    assert run.seconds < 25
    assert leftovers(clean_project) == []


def test_compose_up_waiting_on_an_unhealthy_service_is_bounded_and_named(
    clean_project: str, tmp_path: Path
) -> None:
    run = run_fault(clean_project, tmp_path, "web-waits-on-unhealthy-chat", args=("--timeout", "8"))
    assert run.returncode == 1, run.output
    assert "✗ compose up" in run.output
    assert "compose up did not finish within 8s (--timeout)" in run.output
    assert "failure class: compose up timeout" in run.output
    said = next(line for line in run.output.splitlines() if "did not finish" in line)
    assert "chat is running, unhealthy" in said or "chat is running, starting" in said, said
    assert "its healthcheck said:" in said, said
    assert "wget" in said, said
    assert "base image" not in run.output
    assert run.seconds < 25  # 8 s, the teardown, and a loaded machine's start
    assert leftovers(clean_project) == []


def test_keep_on_failure_shows_the_exited_container_that_failed(
    clean_project: str, tmp_path: Path
) -> None:
    import shlex

    run = run_fault(
        clean_project, tmp_path, "chat-exits", args=("--keep-on-failure", "--timeout", "20")
    )
    try:
        assert run.returncode == 1, run.output
        line = next(line for line in run.output.splitlines() if "inspect it:" in line)
        command = shlex.split(line.split("inspect it:", 1)[1])
        assert command[-2:] == ["ps", "-a"], line
        shown = subprocess.run(
            command, cwd=ROOT, env=smoke_env(), capture_output=True, text=True, check=True
        )
        chat = next(row for row in shown.stdout.splitlines() if f"{clean_project}-chat-1" in row)
        assert "Exited (3)" in chat, shown.stdout
    finally:
        subprocess.run(
            [sys.executable, "-m", "smoke", "teardown", "--project", clean_project],
            cwd=ROOT,
            env=smoke_env(),
            capture_output=True,
            check=False,
        )
    assert leftovers(clean_project) == []


# -- engine and configuration problems: one line, exit 2, nothing left ---------------


def test_engine_unreachable(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, DOCKER_HOST="tcp://127.0.0.1:1")
    assert run.returncode == 2
    said = one_line_error(run)
    assert "the docker engine at tcp://127.0.0.1:1 (DOCKER_HOST) is unreachable" in said
    assert "point DOCKER_HOST at one that runs" in said


def test_compose_v2_missing(clean_project: str, tmp_path: Path) -> None:
    """A docker CLI without its compose plugin, wherever the plugin would be installed
    (~/.docker, /usr/libexec/docker, /usr/local/lib/docker ...): the CLI answers
    `docker compose` with an error, as it does when no plugin is found."""
    real = shutil.which("docker")
    assert real is not None
    shim = tmp_path / "bin" / "docker"
    shim.parent.mkdir()
    shim.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = compose ]; then\n'
        "  echo \"docker: 'compose' is not a docker command.\" >&2; exit 1\n"
        "fi\n"
        f'exec {real} "$@"\n'
    )
    shim.chmod(0o755)
    run = run_fault(clean_project, tmp_path, PATH=f"{shim.parent}:{os.environ['PATH']}")
    assert run.returncode == 2
    assert "Docker Compose v2 is missing" in one_line_error(run)
    assert leftovers(clean_project) == []


def test_invalid_compose_file(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(clean_project, tmp_path, "invalid")
    assert run.returncode == 2
    assert "invalid compose configuration" in one_line_error(run)
    assert leftovers(clean_project) == []


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_port_already_taken(clean_project: str, tmp_path: Path, taken_port: int) -> None:
    run = run_fault(clean_project, tmp_path, SMOKE_WEB_PORT=str(taken_port))
    assert run.returncode == 2
    line = one_line_error(run)
    assert f"port 127.0.0.1:{taken_port} for web is already in use" in line
    assert "SMOKE_WEB_PORT" in line
    assert leftovers(clean_project) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--timeout", "-1"), "argument --timeout: -1 is out of range"),
        (
            ("--web-url", "notaurl", "--chat-url", "http://127.0.0.1:1"),
            "'notaurl' is not an http(s) URL",
        ),
        (("--frobnicate",), "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "smoke", "run", *args],
        cwd=ROOT,
        env=smoke_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    run = Run(completed.returncode, completed.stdout + completed.stderr, "")
    assert message in one_line_error(run)


def test_a_team_file_without_the_runbooks_names_stops_before_anything(
    clean_project: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "smoke",
            "run",
            "--profile",
            "lite",
            "--project",
            clean_project,
            "--compose-file",
            "tests/compose/team-chat-named-api.yml",
        ],
        cwd=ROOT,
        env=smoke_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    run = Run(completed.returncode, completed.stdout + completed.stderr, "")
    assert run.returncode == 2, run.output
    said = one_line_error(run)
    assert "the compose file has no service chat (services: api, db, web)" in said
    assert "chat answers /health and /health/dependencies on container port 8000" in said
    assert time.monotonic() - started < 20  # at once, not after a wait
    assert leftovers(clean_project) == []


@pytest.mark.parametrize("args", [(), ("--no-build",)], ids=["build", "no-build"])
def test_a_built_image_under_a_shared_name_is_refused_on_every_path(
    clean_project: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    run = run_fault(clean_project, tmp_path, "chat-image-shared-name", args=args)
    assert run.returncode == 2, run.output
    said = one_line_error(run)
    assert "service chat builds image team/chat:dev, a name other projects" in said
    assert "smoke internal error" not in run.everything
    assert run.seconds < 20  # before anything starts
    assert leftovers(clean_project) == []
