"""What a failure shows, and that no secret shows anywhere: the console's evidence
block, compose's stderr, the JUnit file, the metrics, the step summary and the
::error annotation, for PASSWORD, SECRET and TOKEN names alike."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import cast

from python_on_whales import DockerClient

from smoke.options import Target
from smoke.report.budgets import Budgets, evaluate
from smoke.report.console import Console
from smoke.report.errors import ComposeFailed, ContractDrift, PageFailed, ProxyCallFailed
from smoke.report.evidence import LOG_TAIL_LINES, explain
from smoke.report.files import publish_to_github, write_junit, write_metrics
from smoke.report.masking import MASK, Masker
from smoke.stack.compose import Stack
from smoke.steps import Outcome, StepResult
from tests.unit.fakes import PASSWORD, FakeDocker, docker_error

SECRETS = ("pw-Secr3t", "api-secret-77", "tok-99")


class Terminal(io.StringIO):
    @property
    def encoding(self) -> str:
        return "utf-8"


def stack(docker: FakeDocker) -> Stack:
    return Stack(Target("p", (Path("docker-compose.yml"),)), docker=cast(DockerClient, docker))


def test_masking_replaces_longest_first_and_ignores_empty() -> None:
    mask = Masker(["abc", "abcdef", ""])
    assert mask("x abcdef y abc z") == f"x {MASK} y {MASK} z"
    assert Masker()("nothing to hide") == "nothing to hide"


def test_the_evidence_block_has_message_body_class_hint_and_log_tail_in_time_order() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {
        "web": ["2026-11-25T12:00:03Z web: proxied 500"],
        "chat": ["2026-11-25T12:00:02Z chat: boom", "2026-11-25T12:00:04Z chat: after"],
    }
    out = Terminal()
    failure = ProxyCallFailed("web answered HTTP 500", status=500, body='{"error":"x"}')
    explain(failure, stack(docker), Console(out, tty=False), Masker())
    assert out.getvalue().splitlines() == [
        "    web answered HTTP 500",
        '    body: HTTP 500: {"error":"x"}',
        "    failure class: web -> chat proxy call non-200",
        f"    hint: {ProxyCallFailed.hint}",
        "    last log lines (web, chat):",
        "      chat-1  | 2026-11-25T12:00:02Z chat: boom",
        "      web-1   | 2026-11-25T12:00:03Z web: proxied 500",
        "      chat-1  | 2026-11-25T12:00:04Z chat: after",
    ]


def test_a_body_already_in_the_message_is_not_repeated_and_no_stack_no_logs() -> None:
    out = Terminal()
    explain(ContractDrift("drift: {}", body="{}"), None, Console(out, tty=False), Masker())
    assert "body:" not in out.getvalue()
    assert "last log lines" not in out.getvalue()


def test_the_log_tail_is_bounded_and_unreadable_logs_are_said() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {"chat": [f"2026-11-25T12:00:{i:02}Z line {i}" for i in range(40)]}
    out = Terminal()
    explain(ContractDrift("x"), stack(docker), Console(out, tty=False), Masker())
    shown = [line for line in out.getvalue().splitlines() if "line " in line]
    assert len(shown) == LOG_TAIL_LINES
    assert shown[-1].endswith("line 39")
    broken = FakeDocker(running=True)
    broken.fail["compose logs"] = docker_error("compose logs", 1, "no such service")
    out = Terminal()
    explain(ContractDrift("x"), stack(broken), Console(out, tty=False), Masker())
    assert "(could not read logs: " in out.getvalue()


def test_every_output_of_a_failure_masks_every_kind_of_secret(tmp_path: Path) -> None:
    """A failure whose message, body, hint, compose stderr and logs all carry the
    secrets: none of them may reach the console, the files or GitHub's outputs."""
    mask = Masker(SECRETS)
    leak = " ".join(SECRETS)
    failure = ComposeFailed(f"compose up failed: {leak}", return_code=1, stderr=f"err {leak}")
    failure.step = "compose up"
    failure.hint = f"hint {leak}"
    failure.body = f"body {leak}"
    docker = FakeDocker(running=True)
    docker.service_logs = {"db": [f"2026-11-25T12:00:01Z started with {leak}"]}

    out = Terminal()
    explain(failure, stack(docker), Console(out, tty=False), mask)
    outcome = Outcome(
        result="failed",
        profile="lite",
        project="p",
        planned_steps=("compose up", "teardown"),
        steps=(StepResult("compose up", False, 1.0, failure), StepResult("teardown", True, 0.5)),
        duration=1.5,
        budgets=Budgets(),
        verdicts=tuple(evaluate(Budgets(), duration=1.5, chat_image=1, web_image=1)),
        failure=failure,
        stopped_by=f"stopped {leak}",
    )
    write_metrics(outcome, tmp_path / "m.txt", mask)
    write_junit(outcome, tmp_path / "j.xml", mask)
    summary = tmp_path / "summary.md"
    annotation = publish_to_github(
        outcome, mask, {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    )
    everything = {
        "console": out.getvalue(),
        "metrics": (tmp_path / "m.txt").read_text(),
        "junit": (tmp_path / "j.xml").read_text(),
        "summary": summary.read_text(),
        "annotation": annotation or "",
    }
    for name, text in everything.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} in the {name}"
    assert "compose said:" in everything["console"]
    assert f"err {MASK} {MASK} {MASK}" in everything["console"]
    assert MASK in everything["junit"]
    assert MASK in everything["summary"]
    assert MASK in everything["annotation"]
    failure_node = ET.parse(tmp_path / "j.xml").getroot().find(".//failure")
    assert failure_node is not None
    assert MASK in (failure_node.text or "")


def test_a_secret_holding_another_is_masked_whole() -> None:
    # Longest first, whatever the alphabet says: "zz" sorts after "aazzbb".
    masker = Masker(["zz", "aazzbb", ""])
    assert masker("user aazzbb and zz") == "user **** and ****"


def test_masking_takes_whole_values_never_the_inside_of_a_word() -> None:
    mask = Masker(["postgres", "k-123", "-x-"])
    assert mask("user postgres on postgresql://db, _postgres_") == (
        f"user {MASK} on postgresql://db, _postgres_"
    )
    assert mask("key=k-123; k-1234 and ak-123") == f"key={MASK}; k-1234 and ak-123"
    assert mask("a-x-b") == f"a{MASK}b"  # an edge that is no word character binds nothing


def test_passwords_inside_urls_are_masked_by_shape() -> None:
    mask = Masker()
    assert mask("DATABASE_URL=postgresql://app:s3cr3t@db:5432/x up") == (
        f"DATABASE_URL=postgresql://app:{MASK}@db:5432/x up"
    )
    assert mask("see https://example.test/a:b@c and redis://:pw@cache") == (
        f"see https://example.test/a:b@c and redis://:{MASK}@cache"
    )


def test_the_models_secrets_by_name_and_inside_urls() -> None:
    docker = FakeDocker()
    model = docker.fixed_model()
    model["services"]["chat"]["environment"] = {
        "DATABASE_URL": "postgresql://app:url-pass@db/contoso",
        "OPENAI_API_KEY": "sk-live-1",
        "SMTP_PASS": "p1",
        "DB_PWD": "p2",
        "GCP_CREDENTIALS": "p3",
        "BASIC_AUTH": "p4",
        "MONKEY_COUNT": "",
        "LOG_LEVEL": "debug",
    }
    secrets = stack(docker).secrets()
    assert set(secrets) == {PASSWORD, "url-pass", "sk-live-1", "p1", "p2", "p3", "p4"}
    assert "debug" not in secrets


def test_a_body_without_a_status_and_what_compose_said() -> None:
    out = Terminal()
    failure = ComposeFailed(
        "compose up failed (exit 1)", return_code=1, stderr="pulling\nError: no such image"
    )
    failure.body = "partial output"
    explain(failure, None, Console(out, tty=False), Masker())
    lines = out.getvalue().splitlines()
    assert lines[1] == "    body: partial output"
    assert lines[-3:] == [
        "    compose said:",
        "      pulling",
        "      Error: no such image",
    ]


def test_only_the_failing_services_logs_are_shown_and_a_read_error_is_named() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {
        "db": ["2026-11-25T12:00:01Z db line"],
        "web": ["2026-11-25T12:00:02Z web line"],
    }
    out = Terminal()
    explain(PageFailed("page"), stack(docker), Console(out, tty=False), Masker())
    assert "web line" in out.getvalue()
    assert "db line" not in out.getvalue()
    docker.fail["compose logs"] = docker_error("compose logs", 1, "log driver gone")
    out = Terminal()
    explain(PageFailed("page"), stack(docker), Console(out, tty=False), Masker())
    assert "(could not read logs: " in out.getvalue()
    assert "log driver gone" in out.getvalue()


def test_neutralise_leaves_text_alone_and_makes_every_line_breaker_visible() -> None:
    from smoke.report.masking import neutralise, split_lines

    assert neutralise("plain text, tabs\tand ünïcode ✓") == "plain text, tabs\tand ünïcode ✓"
    assert neutralise("x\r\x0b\x0c\x1b\x00\x7f\x85\u2028\u2029\u202e\u2066y") == (
        r"x\r\v\f\x1b\0\x7f\x85\u2028\u2029\u202e\u2066y"
    )
    assert neutralise("a ##[error] b ##[") == r"a ##\[error] b ##\["
    assert split_lines("a\rb\u2028c\nd") == ["a\rb\u2028c", "d"]
    assert Masker(["pw"]).safe("pw\x1b") == r"****\x1b"


def test_the_evidence_keeps_a_service_line_on_one_output_line() -> None:
    docker = FakeDocker(running=True)
    docker.service_logs = {"chat": ["2026-11-25T12:00:01Z ok\r::error::injected"]}
    failure = ComposeFailed("up failed", return_code=1, stderr="one\u2028::error::two\n")
    failure.step, failure.services = "compose up", ("chat",)
    out = Terminal()
    explain(failure, stack(docker), Console(out, tty=False, env={}), Masker())
    said = out.getvalue().split("\n")
    assert r"      one\u2028::error::two" in said
    assert any(line.endswith(r"ok\r::error::injected") for line in said)
    assert not any(line.lstrip().startswith("::") for line in said)


def test_values_named_with_secret_join_the_models_secrets() -> None:
    target = Target("p", (Path("docker-compose.yml"),), ("DEPLOY_HOOK",))
    named = Stack(
        target,
        docker=cast(DockerClient, FakeDocker()),
        env={"DEPLOY_HOOK": "hook-value", "UNRELATED": "x"},
    )
    assert set(named.secrets()) == {PASSWORD, "hook-value"}


def test_every_kind_of_unsafe_character_has_its_visible_form() -> None:
    from smoke.report.masking import neutralise

    assert neutralise("\x08\x7f\x9b\x1f") == r"\x08\x7f\x9b\x1f"  # BS, DEL, CSI, US
    assert neutralise("\u2066\u2069\u202a") == r"\u2066\u2069\u202a"
    assert neutralise("tab\tand\nnewline") == "tab\tand\nnewline"
    assert neutralise("é ✓ 中") == "é ✓ 中"  # printable text is left as it is


def test_the_password_inside_a_url_is_found() -> None:
    from smoke.report.masking import url_password

    assert url_password("postgresql://app:s3cr3t@db:5432/x") == "s3cr3t"
    assert url_password("redis://:only-pass@cache") == "only-pass"
    assert url_password("https://example.test/a:b@c") is None
    assert url_password("no url here") is None
    assert url_password("postgresql://app@db/x") is None  # a user alone is no secret
