"""main(argv) -> int: every outcome mapped to its exit status in one place, each
error said in one line."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

import smoke.cli as cli
from smoke.errors import (
    BudgetExceeded,
    ContractDrift,
    DockerUnreachable,
    Interrupted,
    ProjectInUse,
    SmokeError,
    ToolMissing,
    UsageError,
)
from smoke.stack.client import docker_verb, translated
from tests.unit.fakes import docker_error


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    return tmp_path


def raising(error: BaseException) -> Any:
    def run(*args: Any, **kwargs: Any) -> None:
        raise error

    return run


@pytest.mark.parametrize(
    ("error", "status", "said"),
    [
        (UsageError("bad thing"), 2, "smoke: error: bad thing\n"),
        (
            DockerUnreachable("no engine", hint="start it"),
            2,
            "smoke: error: no engine; start it\n",
        ),
        (
            ToolMissing("no browser", hint="install one"),
            2,
            "smoke: error: no browser; install one\n",
        ),
        (ProjectInUse("in use", hint="wait"), 2, "smoke: error: in use; wait\n"),
        (ContractDrift("drift"), 1, ""),  # explained step by step on the console already
        (
            BudgetExceeded("budget exceeded: x", budget="duration", measured=2, limit=1),
            3,
            "smoke: error: budget exceeded: x\n",
        ),
        (SmokeError("odd"), 1, "smoke: error: odd\n"),
        (
            Interrupted("SIGHUP", exit_code=129),
            129,
            "smoke: error: interrupted by SIGHUP; the stack was torn down unless kept\n",
        ),
        (Interrupted("SIGINT", exit_code=130), 130, None),
        (Interrupted("SIGTERM", exit_code=143), 143, None),
        (KeyboardInterrupt(), 130, "smoke: error: interrupted\n"),
        (
            translated(docker_error("compose --file a.yml up -d", 17, "Error: boom\nlast words")),
            1,
            "smoke: error: `docker compose up` exited 17: last words\n",
        ),
        (
            translated(docker_error("volume ls", 1, "")),
            1,
            "smoke: error: `docker volume` exited 1\n",
        ),
    ],
)
def test_each_outcome_has_its_status_and_one_line(
    in_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    status: int,
    said: str | None,
) -> None:
    monkeypatch.setattr(cli, "run_smoke", raising(error))
    assert cli.main(["run", "--profile", "lite"]) == status
    err = capsys.readouterr().err
    if said is not None:
        assert err == said


def test_help_is_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--help"]) == 0
    assert "--keep-on-failure" in capsys.readouterr().out


def test_commands_go_where_they_belong(in_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[str] = []
    for name in ("run_smoke", "fuzz", "build_images", "write_stack_logs", "teardown_stack"):
        monkeypatch.setattr(cli, name, lambda *a, name=name, **k: called.append(name))
    for argv in (["run"], ["fuzz"], ["build"], ["logs"], ["teardown"]):
        assert cli.main(argv) == 0
    assert called == ["run_smoke", "fuzz", "build_images", "write_stack_logs", "teardown_stack"]


def test_url_modes_need_no_compose_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no docker-compose.yml here
    called: list[str] = []
    monkeypatch.setattr(cli, "run_smoke", lambda *a, **k: called.append("run"))
    monkeypatch.setattr(cli, "fuzz", lambda *a, **k: called.append("fuzz"))
    urls = ["--web-url", "http://127.0.0.1:1", "--chat-url", "http://127.0.0.1:2"]
    assert cli.main(["run", *urls]) == 0
    assert cli.main(["fuzz", "--chat-url", "http://127.0.0.1:2"]) == 0
    assert called == ["run", "fuzz"]
    assert cli.main(["fuzz"]) == 2  # a fresh stack needs the compose file


def test_docker_verb_skips_every_global_flag_with_a_value() -> None:
    command = [
        "docker",
        "--host",
        "tcp://h",
        "-c",
        "ctx",
        "compose",
        "-f",
        "a.yml",
        "-p",
        "p",
        "--env-file",
        ".env",
        "--profile",
        "x",
        "--project-directory",
        ".",
        "logs",
        "-f",
    ]
    assert docker_verb(command) == "docker compose logs"
    assert docker_verb(["docker", "--config", "d", "volume", "rm", "v"]) == "docker volume"
    assert docker_verb(["docker", "-H", "h", "info"]) == "docker info"


def test_the_process_exits_with_mains_status(tmp_path: Path) -> None:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "smoke", "run", "--timeout", "-1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("smoke: error: argument --timeout: -1 is out of range")
    assert completed.stdout == ""


def test_each_command_gets_its_options_and_a_console(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.options import FuzzOptions, RunOptions
    from smoke.report.console import Console

    got: list[tuple[object, object]] = []
    for name in ("run_smoke", "fuzz"):
        monkeypatch.setattr(cli, name, lambda options, *, console: got.append((options, console)))
    assert cli.main(["run", "--profile", "lite"]) == 0
    assert cli.main(["fuzz", "--max-examples", "3"]) == 0
    (run_options, run_console), (fuzz_options, fuzz_console) = got
    assert isinstance(run_options, RunOptions)
    assert run_options.profile == "lite"
    assert isinstance(fuzz_options, FuzzOptions)
    assert fuzz_options.max_examples == 3
    assert isinstance(run_console, Console)
    assert isinstance(fuzz_console, Console)


def test_without_argv_the_command_line_is_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NOX_CURRENT_SESSION", raising=False)  # as when run by hand
    monkeypatch.setattr(cli.sys, "argv", ["python -m smoke", "teardown", "--help"])
    assert cli.main() == 0
    assert capsys.readouterr().out.startswith("usage: python -m smoke teardown")


def test_the_docker_verb_skips_a_trailing_value_flag() -> None:
    assert docker_verb(["docker", "compose", "-f"]) == "docker compose"
    assert docker_verb(["docker", "--debug", "ps"]) == "docker ps"


def test_an_internal_error_is_one_line_and_its_traceback_goes_to_the_log_file(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def bug(*args: object, **kwargs: object) -> None:
        raise KeyError("a key\nthat was not there")

    monkeypatch.setattr(cli, "run_smoke", bug)
    log = in_repo / "out" / "deeper" / "run.log"  # folders made as needed
    assert cli.main(["run", "--profile", "lite", "--log-file", str(log)]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "smoke: error: smoke internal error: KeyError: 'a key\\nthat was not there'; "
        f"its traceback is at the end of {log}\n"
    )
    assert "Traceback" not in captured.out + captured.err
    text = log.read_text()
    assert text.startswith("smoke internal error:\nTraceback (most recent call last):")
    assert "raise KeyError" in text


def test_compose_words_in_an_error_line_cannot_start_a_line(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = translated(docker_error("compose up", 1, "first\nlast\r::error::x \x1b[2J"))
    monkeypatch.setattr(cli, "run_smoke", raising(error))
    assert cli.main(["run", "--profile", "lite"]) == 1
    assert capsys.readouterr().err == (
        "smoke: error: `docker compose up` exited 1: last\\r::error::x \\x1b[2J\n"
    )


def test_an_internal_error_says_so_when_its_traceback_cannot_be_kept(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def bug(*args: object, **kwargs: object) -> None:
        raise RuntimeError("x" * 300)

    monkeypatch.setattr(cli, "run_smoke", bug)
    (in_repo / "a-file").write_text("")
    log = in_repo / "a-file" / "run.log"  # under a file: cannot be written
    assert cli.main(["run", "--profile", "lite", "--log-file", str(log)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("smoke: error: smoke internal error: RuntimeError: " + "x" * 199 + "…;")
    assert err.rstrip().endswith(f"its traceback could not be written to {log} (File exists)")


def test_a_wordless_internal_error_is_named_by_its_type(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "run_smoke", raising(LookupError()))
    assert cli.main(["run", "--profile", "lite"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("smoke: error: smoke internal error: LookupError; its traceback is at")
    assert (in_repo / "e2e-compose.log").read_text().startswith("smoke internal error:\n")


def test_the_entry_point_ends_the_process_with_mains_status_once_flushed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process, as the console script runs it: main's status becomes the process's,
    after what it printed is flushed; a missing dependency is a one-line exit 2."""
    import gc
    import sys

    from smoke import __main__ as entry_point

    class Exited(Exception):
        pass

    def exit_now(status: int) -> None:
        raise Exited(status)

    def main() -> int:
        print("last words", end="")
        print("and a warning", end="", file=sys.stderr)
        return 3

    # Buffered as a pipe is: os._exit would drop what is not flushed.
    out, err = io.BytesIO(), io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, write_through=False))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(err, write_through=False))
    monkeypatch.setattr(entry_point.os, "_exit", exit_now)
    monkeypatch.setattr(cli, "main", main)
    try:
        with pytest.raises(Exited) as ended:
            entry_point.entry()
        assert not gc.isenabled()  # a short-lived process: no collection
    finally:
        gc.enable()
    assert ended.value.args == (3,)
    assert (out.getvalue(), err.getvalue()) == (b"last words", b"and a warning")
    monkeypatch.undo()
    monkeypatch.setattr(entry_point.os, "_exit", exit_now)
    monkeypatch.setitem(sys.modules, "smoke.cli", None)  # as if not installed
    try:
        with pytest.raises(SystemExit) as refused:
            entry_point.entry()
    finally:
        gc.enable()
    assert refused.value.code == 2
    assert capsys.readouterr().err == (
        "smoke: error: smoke.cli is not installed in this Python; run the smoke through "
        "nox (`nox -s smoke_lite -- ...`), or `pip install -e .` first\n"
    )


def test_a_bug_before_the_options_are_read_keeps_its_traceback_in_the_default_log(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "parse", raising(RuntimeError("early")))
    assert cli.main(["run"]) == 1
    assert capsys.readouterr().err == (
        "smoke: error: smoke internal error: RuntimeError: early; "
        "its traceback is at the end of e2e-compose.log\n"
    )
    assert (in_repo / "e2e-compose.log").read_text().startswith("smoke internal error:\n")


@pytest.mark.parametrize(("code", "status"), [(None, 0), ("a message", 0), (0, 0), (3, 3)])
def test_a_system_exit_ends_main_with_its_status_or_0(
    monkeypatch: pytest.MonkeyPatch, code: object, status: int
) -> None:
    monkeypatch.setattr(cli, "_dispatch", raising(SystemExit(code)))
    assert cli.main(["run", "--profile", "lite"]) == status


def test_an_error_of_several_lines_is_said_on_one_and_a_closed_stderr_loses_only_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from smoke.errors import UsageError

    monkeypatch.setattr(cli, "_dispatch", raising(UsageError("first\nsecond")))
    assert cli.main(["run", "--profile", "lite"]) == 2
    assert capsys.readouterr().err == "smoke: error: first second\n"

    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli.sys, "stderr", Closed())
    assert cli.main(["run", "--profile", "lite"]) == 2
