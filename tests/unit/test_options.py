"""Options and env compatibility: what a user types becomes validated settings,
and a mistake becomes one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoke.errors import UsageError
from smoke.options import (
    BuildOptions,
    FuzzOptions,
    LogsOptions,
    RunOptions,
    TeardownOptions,
    parse,
)


def run_options(*argv: str, **env: str) -> RunOptions:
    options = parse(["run", *argv], env=env)
    assert isinstance(options, RunOptions)
    return options


def test_defaults() -> None:
    options = run_options()
    assert options.profile == "full"
    assert options.stack.target.project == "contoso-smoke"
    assert options.stack.target.compose_files == (Path("docker-compose.yml"),)
    assert options.stack.timeout == 60
    assert options.stack.log_file == Path("e2e-compose.log")
    assert (options.stack.keep, options.stack.install_local_stack, options.stack.build) == (
        "never",
        False,
        True,
    )
    assert (options.browser, options.strict_contract, options.stack.reaper) == (True, False, True)
    assert options.screenshot_path == Path("e2e-web.png")
    assert options.stack.uses_compose


def test_flags() -> None:
    options = run_options(
        "--keep-stack",
        "--install-local-stack",
        "--no-build",
        "--project",
        "p1",
        "--timeout",
        "2.5",
        "--compose-file",
        "a.yml",
        "--compose-file",
        "b.yml",
    )
    assert options.stack.keep == "always"
    assert options.stack.install_local_stack
    assert not options.stack.build
    assert options.stack.target.project == "p1"
    assert options.stack.timeout == 2.5
    assert options.stack.target.compose_files == (Path("a.yml"), Path("b.yml"))


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_runbook_env_vars_behave_like_the_flags(value: str) -> None:
    options = run_options(KEEP_STACK=value, CHAT_INSTALL_LOCAL_STACK=value)
    assert options.stack.keep == "always"
    assert options.stack.install_local_stack


@pytest.mark.parametrize("value", ["0", "", "false"])
def test_runbook_env_vars_off(value: str) -> None:
    options = run_options(KEEP_STACK=value, CHAT_INSTALL_LOCAL_STACK=value)
    assert options.stack.keep == "never"
    assert not options.stack.install_local_stack


def test_keep_on_failure_by_flag_or_env() -> None:
    assert run_options("--keep-on-failure").stack.keep == "on-failure"
    assert run_options(KEEP_STACK="on-failure").stack.keep == "on-failure"
    assert run_options("--keep-stack", KEEP_STACK="on-failure").stack.keep == "always"
    assert run_options("--keep-on-failure", KEEP_STACK="1").stack.keep == "on-failure"


def test_reaper_browser_contract_and_screenshot_options(tmp_path: Path) -> None:
    assert not run_options("--no-reaper").stack.reaper
    assert not run_options(SMOKE_REAPER="0").stack.reaper
    assert run_options(SMOKE_REAPER="1").stack.reaper
    assert not run_options("--no-browser").browser
    assert run_options("--strict-contract").strict_contract
    logs = tmp_path / "out" / "e2e-compose.log"
    assert run_options("--log-file", str(logs)).screenshot_path == tmp_path / "out" / "e2e-web.png"
    assert run_options("--screenshot", "shot.png").screenshot_path == Path("shot.png")


def test_fuzz_options() -> None:
    options = parse(
        ["fuzz", "--no-build", "--max-examples", "5", "--seed", "7", "--junit-xml", "j.xml"],
        env={},
    )
    assert isinstance(options, FuzzOptions)
    assert (options.stack.build, options.max_examples, options.seed) == (False, 5, 7)
    assert options.junit_xml == Path("j.xml")
    assert options.stack.uses_compose
    url = parse(["fuzz", "--chat-url", "http://127.0.0.1:8000/"], env={})
    assert isinstance(url, FuzzOptions)
    assert url.chat_url == "http://127.0.0.1:8000"
    assert not url.stack.uses_compose


def test_malformed_env_var_is_a_usage_error_naming_it() -> None:
    with pytest.raises(UsageError, match=r"KEEP_STACK must be 1, 0 or on-failure, got 'maybe'"):
        run_options(KEEP_STACK="maybe")
    with pytest.raises(UsageError, match=r"SMOKE_REAPER must be 1 or 0, got 'off!'"):
        run_options(SMOKE_REAPER="off!")


def test_lite_forces_the_minimal_stack() -> None:
    lite = run_options("--profile", "lite", CHAT_INSTALL_LOCAL_STACK="1")
    assert not lite.stack.install_local_stack
    assert lite.notes == (
        "CHAT_INSTALL_LOCAL_STACK does not apply to the lite profile: its chat is the minimal "
        "image",
    )
    assert run_options("--profile", "lite").notes == ()
    assert run_options("--profile", "full", CHAT_INSTALL_LOCAL_STACK="1").notes == ()
    with pytest.raises(UsageError, match="does not apply to the lite profile"):
        run_options("--profile", "lite", "--install-local-stack")


def test_compose_file_env_is_honoured_and_flags_win() -> None:
    files = run_options(COMPOSE_FILE="a.yml:b.yml").stack.target.compose_files
    assert files == (Path("a.yml"), Path("b.yml"))
    files = run_options(COMPOSE_FILE="a.yml;b.yml", COMPOSE_PATH_SEPARATOR=";").stack.target
    assert files.compose_files == (Path("a.yml"), Path("b.yml"))
    flagged = run_options(
        "--compose-file", "c.yml", COMPOSE_FILE="a.yml"
    ).stack.target.compose_files
    assert flagged == (Path("c.yml"),)


def test_compose_project_name_is_honoured_and_flag_wins() -> None:
    assert run_options(COMPOSE_PROJECT_NAME="mine").stack.target.project == "mine"
    assert (
        run_options("--project", "other", COMPOSE_PROJECT_NAME="mine").stack.target.project
        == "other"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--timeout", "-1"], "argument --timeout: -1 is out of range"),
        (["--timeout", "0"], "argument --timeout: 0 is out of range"),
        (["--timeout", "soon"], "argument --timeout: 'soon' is not a number of seconds"),
        (["--web-url", "notaurl", "--chat-url", "http://x"], "'notaurl' is not an http(s) URL"),
        (["--web-url", "ftp://h", "--chat-url", "http://x"], "'ftp://h' is not an http(s) URL"),
        (["--web-url", "http://127.0.0.1:3000"], "--web-url and --chat-url go together"),
        (["--project", "Bad Name"], "'Bad Name' is not a compose project name"),
        (["--profile", "huge"], "argument --profile: invalid choice: 'huge'"),
        (["--keep-stak"], "unrecognized arguments: --keep-stak"),
        (["--profile", "lite", "--profile", "full"], "argument --profile: given twice"),
        (["--keep-stack", "--keep-on-failure"], "not allowed with argument --keep-stack"),
    ],
)
def test_bad_input_is_a_usage_error(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        run_options(*argv)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_usage_errors_point_at_the_nox_session_under_nox() -> None:
    with pytest.raises(UsageError, match=r"see nox -s smoke_lite -- --help"):
        parse(["run", "--bogus"], env={"NOX_CURRENT_SESSION": "smoke_lite"})
    with pytest.raises(UsageError, match=r"see python -m smoke run --help"):
        parse(["run", "--bogus"], env={})


def test_urls_skip_compose() -> None:
    options = run_options(
        "--web-url", "http://127.0.0.1:3000/", "--chat-url", "http://127.0.0.1:8000"
    )
    assert not options.stack.uses_compose
    assert options.web_url == "http://127.0.0.1:3000"


def test_other_commands() -> None:
    assert parse(["build", "--install-local-stack"], env={}) == BuildOptions(
        parse(["teardown"], env={}).target,  # type: ignore[union-attr]
        install_local_stack=True,  # type: ignore[union-attr]
    )
    logs = parse(["logs", "--output", "out.log", "--project", "p"], env={})
    assert isinstance(logs, LogsOptions)
    assert logs.output == Path("out.log")
    assert logs.target.project == "p"
    assert isinstance(parse(["teardown"], env={}), TeardownOptions)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-examples", "0"], "argument --max-examples: 0 is out of range; give 1 to 10000"),
        (["--max-examples", "10001"], "10001 is out of range; give 1 to 10000"),
        (["--max-examples", "many"], "argument --max-examples: 'many' is not a whole number"),
        (["--timeout", "3600.5"], "3600.5 is out of range; give seconds in (0, 3600]"),
        (["--chat-url", "localhost:8000"], "'localhost:8000' is not an http(s) URL; e.g. http://"),
    ],
)
def test_bad_fuzz_input_is_a_usage_error(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(["fuzz", *argv], env={})
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--max-chat-image", "argument --max-chat-image: 'huge' is not a size; e.g. 2.5GB"),
        ("--max-web-image", "argument --max-web-image: 'huge' is not a size; e.g. 2.5GB"),
    ],
)
def test_bad_budget_sizes_say_what_a_size_is(flag: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        run_options(flag, "huge")
    assert message in str(caught.value)


def test_bad_project_name_says_the_rule() -> None:
    with pytest.raises(UsageError) as caught:
        run_options("--project", "_x")
    assert str(caught.value).startswith(
        "argument --project: '_x' is not a compose project name (lower-case letters, "
        "digits, '-' and '_', starting with a letter or digit)"
    )


def test_range_edges_are_accepted() -> None:
    for count in ("1", "10000"):
        fuzz = parse(["fuzz", "--max-examples", count], env={})
        assert isinstance(fuzz, FuzzOptions)
        assert fuzz.max_examples == int(count)
    assert run_options("--timeout", "0.5").stack.timeout == 0.5
    assert run_options("--timeout", "3600").stack.timeout == 3600


def test_report_and_budget_options_are_typed() -> None:
    options = run_options(
        "--web-url",
        "https://web.example/",
        "--chat-url",
        "http://127.0.0.1:8000/proxy/BOX/",
        "--metrics-file",
        "m.txt",
        "--junit-xml",
        "j.xml",
        "--enforce-budgets",
        "--max-duration",
        "90",
        "--max-chat-image",
        "2GB",
        "--max-web-image",
        "800MB",
    )
    assert options.web_url == "https://web.example"
    assert options.chat_url == "http://127.0.0.1:8000/proxy/BOX"
    assert (options.metrics_file, options.junit_xml) == (Path("m.txt"), Path("j.xml"))
    assert options.enforce_budgets
    assert options.budgets.max_duration_seconds == 90
    assert options.budgets.max_chat_image_bytes == 2_000_000_000
    assert options.budgets.max_web_image_bytes == 800_000_000
    assert not run_options().enforce_budgets


def test_fuzz_and_logs_defaults() -> None:
    fuzz = parse(["fuzz"], env={})
    assert isinstance(fuzz, FuzzOptions)
    assert (fuzz.max_examples, fuzz.seed, fuzz.junit_xml, fuzz.stack.build) == (
        40,
        None,
        None,
        True,
    )
    assert (fuzz.stack.timeout, fuzz.stack.log_file, fuzz.stack.reaper) == (
        60,
        Path("e2e-compose.log"),
        True,
    )
    assert not parse(["fuzz", "--no-reaper"], env={}).stack.reaper  # type: ignore[union-attr]
    logs = parse(["logs"], env={})
    assert isinstance(logs, LogsOptions)
    assert logs.output == Path("e2e-compose.log")


def test_build_reads_the_runbook_env_var() -> None:
    build = parse(["build"], env={"CHAT_INSTALL_LOCAL_STACK": "1"})
    assert isinstance(build, BuildOptions)
    assert build.install_local_stack
    assert not parse(["build"], env={}).install_local_stack  # type: ignore[union-attr]


def test_lite_still_rejects_a_malformed_local_stack_env_var() -> None:
    with pytest.raises(UsageError, match="CHAT_INSTALL_LOCAL_STACK must be 1 or 0, got 'x'"):
        run_options("--profile", "lite", CHAT_INSTALL_LOCAL_STACK="x")


def test_a_command_is_required() -> None:
    with pytest.raises(UsageError, match="the following arguments are required: COMMAND"):
        parse([], env={})


@pytest.mark.parametrize("command", ["run", "fuzz", "build", "logs", "teardown"])
def test_unknown_arguments_point_at_the_commands_own_help(command: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse([command, "--bogus", "--other"], env={})
    assert str(caught.value) == (
        f"unrecognized arguments: --bogus --other (see python -m smoke {command} --help)"
    )


def test_the_usage_errors_of_run_say_what_to_do() -> None:
    with pytest.raises(UsageError) as caught:
        run_options("--chat-url", "http://127.0.0.1:8000")
    assert str(caught.value) == "--web-url and --chat-url go together: give both, or neither"
    with pytest.raises(UsageError) as caught:
        run_options("--profile", "lite", "--install-local-stack")
    assert str(caught.value) == (
        "--install-local-stack does not apply to the lite profile; use `nox -s smoke`"
    )


def test_a_url_that_cannot_be_parsed_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"'http://\[::1' is not an http\(s\) URL"):
        run_options("--web-url", "http://[::1", "--chat-url", "http://c")


def test_missing_compose_files_are_all_named(tmp_path: Path) -> None:
    from smoke.options import check_files_exist
    from smoke.stack.target import Target

    present = tmp_path / "docker-compose.yml"
    present.write_text("services: {}\n")
    target = Target("p", (tmp_path / "a.yml", present, tmp_path / "b.yml"))
    with pytest.raises(UsageError) as caught:
        check_files_exist(target)
    assert str(caught.value) == (
        f"compose file not found: {tmp_path / 'a.yml'}, {tmp_path / 'b.yml'}; "
        "run from the repository root or pass --compose-file PATH"
    )
    check_files_exist(Target("p", (present,)))


def test_secret_names_are_checked_and_kept_once() -> None:
    env = {"API_TOKEN_X": "v1", "OTHER": "v2"}
    options = parse(
        ["logs", "--secret", "API_TOKEN_X", "--secret", "OTHER", "--secret", "API_TOKEN_X"],
        env=env,
    )
    assert isinstance(options, LogsOptions)
    assert options.target.secret_names == ("API_TOKEN_X", "OTHER")
    with pytest.raises(UsageError) as caught:
        parse(["run", "--secret", "GONE", "--secret", "ALSO_GONE"], env={"ALSO_GONE": ""})
    assert str(caught.value) == (
        "--secret GONE: no value in the environment to mask; export it, or leave the option out"
    )
    with pytest.raises(UsageError, match=r"argument --secret: '1X' is not an env variable name"):
        parse(["run", "--secret", "1X"], env={})


def test_compose_profiles_and_env_files_come_from_flags_else_composes_variables() -> None:
    flags = run_options("--compose-profile", "a", "--compose-profile", "b", "--env-file", "x.env")
    assert flags.stack.target.profiles == ("a", "b")
    assert flags.stack.target.env_files == (Path("x.env"),)
    from_env = run_options(COMPOSE_PROFILES="extra, debug", COMPOSE_ENV_FILES="ci.env,mine.env")
    assert from_env.stack.target.profiles == ("extra", "debug")
    assert from_env.stack.target.env_files == (Path("ci.env"), Path("mine.env"))
    both = run_options("--compose-profile", "a", COMPOSE_PROFILES="extra")
    assert both.stack.target.profiles == ("a",)  # the flag wins, as in compose
    assert run_options().stack.target.profiles == ()
    assert run_options().stack.target.env_files == ()


def test_every_command_takes_compose_profiles_and_env_files() -> None:
    for command in ("build", "logs", "teardown", "fuzz"):
        options = parse([command, "--compose-profile", "extra", "--env-file", "ci.env"], env={})
        target = options.stack.target if isinstance(options, FuzzOptions) else options.target  # type: ignore[union-attr]
        assert target.profiles == ("extra",), command
        assert target.env_files == (Path("ci.env"),), command
    teardown = parse(["teardown", "--images"], env={})
    assert isinstance(teardown, TeardownOptions)
    assert teardown.images is True
    assert parse(["teardown"], env={}).images is False  # type: ignore[union-attr]


def test_a_missing_env_file_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    from smoke.options import check_files_exist
    from smoke.stack.target import Target

    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services: {}\n")
    there = tmp_path / "ci.env"
    there.write_text("")
    check_files_exist(Target("p", (compose,), env_files=(there,)))  # all there: fine
    gone = (tmp_path / "gone.env", tmp_path / "also.env")
    with pytest.raises(UsageError) as caught:
        check_files_exist(Target("p", (compose,), env_files=(there, *gone)))
    assert str(caught.value) == (
        f"env file not found: {gone[0]}, {gone[1]}; pass an existing --env-file PATH "
        "(or fix COMPOSE_ENV_FILES)"
    )


def test_tracing_is_on_unless_asked_off_by_flag_or_env() -> None:
    assert run_options().stack.trace
    assert not run_options("--no-trace").stack.trace
    assert not run_options(SMOKE_TRACE="0").stack.trace
    assert run_options(SMOKE_TRACE="1").stack.trace
    with pytest.raises(UsageError, match="SMOKE_TRACE must be 1 or 0"):
        run_options(SMOKE_TRACE="maybe")


def test_attach_keeps_the_stack_and_starts_no_reaper() -> None:
    attached = run_options("--attach")
    assert attached.stack.attach
    assert attached.stack.keep == "always"
    assert not attached.stack.reaper
    assert not run_options().stack.attach
    with pytest.raises(UsageError) as caught:
        run_options("--attach", "--web-url", "http://w", "--chat-url", "http://c")
    assert str(caught.value) == (
        "--attach checks the project's compose stack; --web-url/--chat-url check another "
        "one: give one or the other"
    )
