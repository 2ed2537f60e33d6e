"""`python -m smoke fuzz` with docker faked and Schemathesis stood in for: what it runs,
what it counts, and that the stack goes on every path."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from smoke.checks import schemathesis as fuzz_module
from smoke.checks.schemathesis import HAR_NAME, Tally
from smoke.errors import FuzzingFailed, Interrupted, ToolMissing
from smoke.fuzz import fuzz
from smoke.options import FuzzOptions, StackSettings
from smoke.report.console import Console
from smoke.stack.compose import Stack
from smoke.stack.target import Target
from smoke.trace.context import Tracer
from tests.unit.fakes import STACK_FIELDS, FakeDocker, Terminal, on_fake


def options(tmp_path: Path, **overrides: Any) -> FuzzOptions:
    settings: dict[str, Any] = {
        "target": Target("p", (Path("docker-compose.yml"),)),
        "build": False,
        "timeout": 2.0,
        "log_file": tmp_path / "e2e-compose.log",
        "reaper": False,
        "trace": False,
    }
    values: dict[str, Any] = {"chat_url": None, "max_examples": 7, "junit_xml": None}
    for name, value in overrides.items():
        (settings if name in STACK_FIELDS else values)[name] = value
    settings["uses_compose"] = values["chat_url"] is None
    return FuzzOptions(StackSettings(**settings), **values)


def har(path: Path, statuses: list[int]) -> None:
    entries = [{"response": {"status": status}} for status in statuses]
    path.write_text(json.dumps({"log": {"entries": entries}}))


def schemathesis_answering(statuses: list[int], returncode: int) -> Any:
    """Schemathesis as a stand-in: writes its HAR record, exits with ``returncode``."""

    def schemathesis(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        # Run in a folder of its own, away from the checkout.
        workdir = Path(kwargs["cwd"])
        assert workdir.is_dir()
        assert Path.cwd() not in (workdir, *workdir.parents)
        har(Path(command[command.index("--report-har-path") + 1]), statuses)
        return subprocess.CompletedProcess(command, returncode)

    return schemathesis


class Process:
    """``subprocess.Popen`` for a stand-in: ``schemathesis(command, **kwargs)`` runs as
    it starts; its output is the lines of the stand-in's ``stdout``."""

    def __init__(self, schemathesis: Any, command: list[str], **kwargs: Any) -> None:
        assert kwargs["stdout"] == subprocess.PIPE
        assert kwargs["stderr"] == subprocess.STDOUT  # its errors shown with the rest
        done = schemathesis(command, **kwargs)
        output = done.stdout or ""
        self.stdout = iter(output.splitlines(True) if isinstance(output, str) else output)
        self.returncode: int | None = done.returncode
        self.killed = False

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def kill(self) -> None:
        self.killed = True

    def wait(self) -> int:
        assert self.returncode is not None
        return self.returncode


def fake_the_world(
    monkeypatch: pytest.MonkeyPatch,
    schemathesis: Any,
    transport: httpx.BaseTransport,
    started: list[Process] | None = None,
) -> None:
    """Schemathesis installed and run as ``schemathesis``; chat answers through
    ``transport``; each process started is added to ``started``."""
    monkeypatch.setattr(fuzz_module.importlib.util, "find_spec", lambda name: object())
    answer_through(monkeypatch, transport)
    started = [] if started is None else started

    def popen(command: list[str], **kwargs: Any) -> Process:
        started.append(Process(schemathesis, command, **kwargs))
        return started[-1]

    monkeypatch.setattr(fuzz_module.subprocess, "Popen", popen)


def answer_through(monkeypatch: pytest.MonkeyPatch, transport: httpx.BaseTransport) -> None:
    """The run's own client (the tracer's) and any other answer through ``transport``."""
    real_client, real_traced = httpx.Client, Tracer.client
    monkeypatch.setattr(httpx, "Client", lambda **kw: real_client(transport=transport))
    monkeypatch.setattr(Tracer, "client", lambda self, given=None: real_traced(self, transport))


def run_fuzz(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    schemathesis: Any,
    *,
    console_env: dict[str, str] | None = None,
    started: list[Process] | None = None,
    **overrides: Any,
) -> tuple[str, FakeDocker, BaseException | None]:
    from tests.unit.fakes import FakeServices

    docker = FakeDocker()
    fake_the_world(monkeypatch, schemathesis, FakeServices().transport(), started)
    out = Terminal()
    stack = on_fake(Target("p", (Path("docker-compose.yml"),)), docker)
    error: BaseException | None = None
    try:
        console = Console(out, tty=False, env=console_env or {})
        fuzz(options(tmp_path, **overrides), console=console, stack=stack)
    except BaseException as exc:
        error = exc
    return out.getvalue(), docker, error


def test_a_clean_fuzz_reports_and_tears_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = schemathesis_answering([200, 422, 404], 0)
    output, docker, error = run_fuzz(tmp_path, monkeypatch, clean)
    assert error is None, output
    assert "✓ fuzz" in output
    assert "3 requests, 0 server errors" in output
    assert "PASS  fuzz: 3 requests, 0 server errors in " in output
    assert output.rstrip().endswith("stack removed")
    assert docker.calls.index("compose up") < docker.calls.index("container remove")
    assert not docker.running
    assert (tmp_path / HAR_NAME).exists()  # every request and answer, kept


def test_a_failing_fuzz_says_so_and_still_tears_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = schemathesis_answering([200, 500, 500], 1)
    output, docker, error = run_fuzz(tmp_path, monkeypatch, failing)
    assert isinstance(error, FuzzingFailed)
    assert (error.requests, error.server_errors) == (3, 2)
    assert "✗ fuzz" in output
    assert "Schemathesis found failures (exit 1) in 3 requests, 2 of them server errors" in output
    assert "failure class: fuzzing found failures" in output
    assert "FAIL  fuzz: 3 requests, 2 server errors" in output
    assert "✓ teardown" in output
    assert not docker.running


def test_an_interrupted_fuzz_tears_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(command: list[str], **kwargs: Any) -> None:
        raise Interrupted("SIGTERM", exit_code=143)

    output, docker, error = run_fuzz(tmp_path, monkeypatch, interrupted)
    assert isinstance(error, Interrupted)
    assert "✓ teardown" in output
    assert "STOPPED  fuzz: 0 requests" in output
    assert not docker.running


def test_no_schemathesis_is_an_environment_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fuzz_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ToolMissing) as caught:
        fuzz(options(tmp_path), console=Console(Terminal(), tty=False))
    assert "fuzzing needs Schemathesis" in str(caught.value)
    assert "nox -s fuzz" in caught.value.hint


def test_fuzz_starts_only_db_and_chat_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output, docker, error = run_fuzz(
        tmp_path, monkeypatch, schemathesis_answering([200], 0), build=True
    )
    assert error is None, output
    assert output.splitlines()[0] == "fuzz: chat against its own schema, project p"
    assert [a for name, a, k in docker.asked if name == "compose build"] == [()]
    ((args, kwargs),) = [(a, k) for name, a, k in docker.asked if name == "compose up"]
    assert args == (["db", "chat"],)
    assert kwargs["no_build"] is True  # built just before


def test_fuzz_by_url_touches_no_compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.fakes import FakeServices

    services = FakeServices()
    targets: list[str] = []

    def schemathesis(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        targets.append(command[4])
        har(Path(command[command.index("--report-har-path") + 1]), [200, 200])
        return subprocess.CompletedProcess(command, 0)

    fake_the_world(monkeypatch, schemathesis, services.transport())
    out = Terminal()
    tally = fuzz(
        options(tmp_path, chat_url="http://127.0.0.1:8000"), console=Console(out, tty=False)
    )
    assert tally == Tally(2, 0)
    lines = out.getvalue().splitlines()
    assert lines[0] == "fuzz: chat against its own schema, chat http://127.0.0.1:8000"
    assert targets == ["http://127.0.0.1:8000/openapi.json"]
    assert "compose up" not in out.getvalue()
    assert lines[-1].startswith("PASS  fuzz: 2 requests, 0 server errors in ")
    assert lines[-1].endswith("s")
    assert "GET 8000/health/dependencies" in services.requests


def test_no_schemathesis_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(fuzz_module.importlib.util, "find_spec", lambda name: asked.append(name))
    with pytest.raises(ToolMissing) as caught:
        fuzz(options(tmp_path), console=Console(Terminal(), tty=False))
    assert asked == ["schemathesis"]
    assert str(caught.value) == "fuzzing needs Schemathesis, which is not installed"
    assert caught.value.hint == "run `nox -s fuzz`, or `pip install 'contoso-smoke[fuzz]'`"


def test_a_fuzz_whose_teardown_leaves_things_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.errors import TeardownIncomplete

    original = FakeDocker.__post_init__

    def stubborn(self: FakeDocker) -> None:
        original(self)
        self.stubborn_downs = 99

    monkeypatch.setattr(FakeDocker, "__post_init__", stubborn)
    output, _, error = run_fuzz(tmp_path, monkeypatch, schemathesis_answering([200], 0))
    assert isinstance(error, TeardownIncomplete)
    assert "failure class: teardown incomplete" in output
    assert output.splitlines()[-1].endswith(
        "; stack NOT fully removed: `nox -s teardown -- --project p`"
    )
    _, _, error = run_fuzz(tmp_path, monkeypatch, schemathesis_answering([500], 1))
    assert isinstance(error, FuzzingFailed)  # the fuzzing's failure stays the news


def test_a_fuzz_run_shows_each_step_and_the_tally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    tags: list[str | None] = []
    original_up = FakeDocker._up

    def up(self: FakeDocker, services: Any = None, **kwargs: Any) -> None:
        tags.append(self.env.get("CHAT_IMAGE_TAG"))
        original_up(self, services, **kwargs)

    monkeypatch.setattr(FakeDocker, "_up", up)
    output, _, error = run_fuzz(tmp_path, monkeypatch, schemathesis_answering([200, 422, 500], 0))
    assert error is None, output
    lines = output.splitlines()
    for step in ("compose up", "chat health", "chat dependency health (db)"):
        assert any(line.startswith(f"  ✓ {step} ") for line in lines), step
    fuzz_line = next(line for line in lines if line.startswith("  ✓ fuzz "))
    assert fuzz_line.endswith("s  3 requests, 1 server errors")
    assert re.fullmatch(
        r"PASS  fuzz: 3 requests, 1 server errors in (\d+\.\d)s; stack removed", lines[-1]
    )
    assert float(lines[-1].split(" in ")[1].split("s")[0]) < 60
    assert tags == ["lite"]  # the minimal chat: its contract is the same
    log = (tmp_path / "e2e-compose.log").read_text()
    assert "db-1" in log
    from tests.unit.fakes import PASSWORD

    assert PASSWORD not in log


def test_a_failing_fuzz_shows_the_services_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output, _, _ = run_fuzz(tmp_path, monkeypatch, schemathesis_answering([500], 1))
    assert "last log lines (chat):" in output


def test_an_interrupted_fuzz_counts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(command: list[str], **kwargs: Any) -> None:
        raise Interrupted("SIGINT", exit_code=130)

    output, _, _ = run_fuzz(tmp_path, monkeypatch, interrupted)
    assert output.splitlines()[-1].startswith("STOPPED  fuzz: 0 requests, 0 server errors in ")


def test_a_fuzz_without_a_given_stack_makes_one_and_judges_other_hosts_by_an_hour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from smoke.stack.claim import Owner
    from tests.unit.fakes import FakeServices

    docker = FakeDocker(running=True)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    docker.volumes["p_smoke-run"] = Owner(1, "", "elsewhere", two_hours_ago, False).labels("p")
    made: list[Target] = []

    def make(target: Target, *, env: object) -> Stack:
        made.append(target)
        return on_fake(target, docker)

    monkeypatch.setattr("smoke.lifecycle.Stack", make)
    fake_the_world(monkeypatch, schemathesis_answering([200], 0), FakeServices().transport())
    out = Terminal()
    fuzz(options(tmp_path), console=Console(out, tty=False))
    assert [t.project for t in made] == ["p"]
    assert out.getvalue().startswith("smoke: stale stack of project p")


def test_a_fuzz_by_url_starts_no_reaper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from smoke.stack import claim as guard
    from tests.unit.fakes import FakeServices

    started: list[object] = []
    monkeypatch.setattr(guard.reaper_module, "start", lambda *a: started.append(a))
    fake_the_world(monkeypatch, schemathesis_answering([200], 0), FakeServices().transport())
    url = options(tmp_path, chat_url="http://127.0.0.1:8000", reaper=True)
    assert fuzz(url, console=Console(Terminal(), tty=False)) == Tally(1, 0)
    assert started == []


def test_an_exited_chat_fails_the_fuzz_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.checks import waiting
    from smoke.errors import ServiceCrashed
    from tests.unit.fakes import FakeState

    monkeypatch.setattr(waiting, "ENGINE_AFTER_SECONDS", 0.0)
    docker = FakeDocker()
    docker.states["chat"] = FakeState("exited", 3)
    monkeypatch.setattr(fuzz_module.importlib.util, "find_spec", lambda name: object())

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    answer_through(monkeypatch, httpx.MockTransport(refuse))
    stack = on_fake(Target("p", (Path("docker-compose.yml"),)), docker)
    with pytest.raises(ServiceCrashed, match="chat exited with code 3"):
        fuzz(options(tmp_path, timeout=30.0), console=Console(Terminal(), tty=False), stack=stack)


def test_a_fuzz_with_no_request_fails_naming_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schemathesis exiting 0 proves nothing when it sent nothing: no PASS on 0 requests."""

    def no_record(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 0)

    output, _, error = run_fuzz(tmp_path, monkeypatch, no_record)
    assert isinstance(error, FuzzingFailed), output
    assert str(error) == "Schemathesis left no record of its requests (e2e-fuzz.har) (exit 0)"
    assert error.hint == (
        "its own output above says why: chat's /openapi.json must list operations, and chat "
        "must answer at the URL it was given"
    )
    assert "PASS" not in output
    output, _, error = run_fuzz(tmp_path, monkeypatch, schemathesis_answering([], 0))
    assert isinstance(error, FuzzingFailed), output
    assert str(error) == "Schemathesis sent no request (exit 0)"
    assert "FAIL  fuzz: 0 requests, 0 server errors" in output


def test_the_fuzz_record_goes_beside_a_log_file_in_folders_not_made_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = schemathesis_answering([200], 0)
    log_file = tmp_path / "ci" / "artifacts" / "e2e-compose.log"
    output, _, error = run_fuzz(tmp_path, monkeypatch, clean, log_file=log_file)
    assert error is None, output
    assert (log_file.parent / HAR_NAME).is_file()


def test_schemathesiss_records_are_masked_like_the_smokes_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """chat answered a fuzzed request with the db password: the HAR and the JUnit file
    Schemathesis wrote keep every answer, masked."""
    from tests.unit.fakes import PASSWORD

    def leaky(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        path = Path(command[command.index("--report-har-path") + 1])
        entry = {"response": {"status": 200, "content": {"text": f'{{"dsn": "{PASSWORD}"}}'}}}
        path.write_text(json.dumps({"log": {"entries": [entry]}}))
        junit = Path(command[command.index("--report-junit-path") + 1])
        junit.write_text(f'<testsuite><testcase name="x" message="{PASSWORD}"/></testsuite>')
        return subprocess.CompletedProcess(command, 0)

    output, _, error = run_fuzz(tmp_path, monkeypatch, leaky, junit_xml=tmp_path / "j.xml")
    assert error is None, output
    record = (tmp_path / HAR_NAME).read_text()
    assert PASSWORD not in record
    assert json.loads(record)["log"]["entries"][0]["response"]["content"]["text"] == (
        '{"dsn": "****"}'
    )
    assert PASSWORD not in (tmp_path / "j.xml").read_text()
    assert 'message="****"' in (tmp_path / "j.xml").read_text()


def test_schemathesiss_output_is_shown_as_it_comes_masked_and_read_as_a_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its failures quote chat's answers (here the db password, and a line that would
    be a workflow command): each line is shown masked, indented under the step, and
    GitHub Actions reads no command from any of it."""
    from tests.unit.fakes import PASSWORD

    said = [
        "Server error on POST /api/chat\n",
        f'    {{"detail": "connect to postgresql://contoso:{PASSWORD}@db/contoso failed"}}\n',
        "::add-mask::nothing\n",
        f'curl -X POST -d \'{{"q": "{PASSWORD}"}}\' http://127.0.0.1:1/api/chat',
    ]

    def leaky(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        har(Path(command[command.index("--report-har-path") + 1]), [500])
        return subprocess.CompletedProcess(command, 1, stdout=said)

    output, _, error = run_fuzz(
        tmp_path, monkeypatch, leaky, console_env={"GITHUB_ACTIONS": "true"}
    )
    assert isinstance(error, FuzzingFailed), output
    assert PASSWORD not in output
    lines = output.splitlines()
    shown = lines.index("    Server error on POST /api/chat")
    assert lines[shown + 1] == (
        '        {"detail": "connect to postgresql://contoso:****@db/contoso failed"}'
    )
    assert lines[shown + 2] == "    ::add-mask::nothing"
    assert lines[shown + 3] == """    curl -X POST -d '{"q": "****"}' http://127.0.0.1:1/api/chat"""
    token = lines[shown - 1].removeprefix("::stop-commands::")
    assert len(token) == 32
    assert lines[shown + 4] == f"::{token}::"  # all of it inside


def test_a_fuzz_stopped_while_schemathesis_runs_ends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def output_then_sigterm() -> Any:
        yield "Schemathesis v4\n"
        raise Interrupted("SIGTERM", exit_code=143)

    def running(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 0, stdout=output_then_sigterm())

    started: list[Process] = []
    output, docker, error = run_fuzz(tmp_path, monkeypatch, running, started=started)
    assert isinstance(error, Interrupted), output
    assert "    Schemathesis v4" in output.splitlines()
    assert [process.killed for process in started] == [True]  # never left running
    assert "✓ teardown" in output
    assert not docker.running


def test_a_record_that_cannot_be_masked_is_removed_and_said_and_the_others_still_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No HAR (Schemathesis stopped early), a JUnit file cut short: better no record
    than one that leaks; a well-formed JUnit without a HAR is still masked."""
    from tests.unit.fakes import PASSWORD

    def cut_short(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        junit = Path(command[command.index("--report-junit-path") + 1])
        junit.write_text(f'<testsuite><testcase name="x" message="{PASSWORD}"')
        return subprocess.CompletedProcess(command, 0)

    junit = tmp_path / "j.xml"
    output, _, _ = run_fuzz(tmp_path, monkeypatch, cut_short, junit_xml=junit)
    assert not junit.exists()
    (said,) = [line for line in output.splitlines() if line.startswith("removed ")]
    assert said.startswith(f"removed {junit}: it could not be masked (unclosed token: line 1")
    assert PASSWORD not in output

    def no_har(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        junit = Path(command[command.index("--report-junit-path") + 1])
        junit.write_text(f'<testsuite><testcase name="x" message="{PASSWORD}"/></testsuite>')
        return subprocess.CompletedProcess(command, 0)

    run_fuzz(tmp_path, monkeypatch, no_har, junit_xml=junit)
    assert 'message="****"' in junit.read_text()
