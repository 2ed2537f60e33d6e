"""Secrets masked by value and by shape, whole values only; service text neutralised, every
line breaker and control character made visible."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from python_on_whales import DockerClient

from smoke.masking import MASK, Masker
from smoke.stack.compose import Stack
from smoke.stack.target import Target
from tests.unit.fakes import PASSWORD, FakeDocker, stack


def test_masking_replaces_longest_first_and_ignores_empty() -> None:
    mask = Masker(["abc", "abcdef", ""])
    assert mask("x abcdef y abc z") == f"x {MASK} y {MASK} z"
    assert Masker()("nothing to hide") == "nothing to hide"


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


def test_neutralise_leaves_text_alone_and_makes_every_line_breaker_visible() -> None:
    from smoke.masking import neutralise, split_lines

    assert neutralise("plain text, tabs\tand ünïcode ✓") == "plain text, tabs\tand ünïcode ✓"
    assert neutralise("x\r\x0b\x0c\x1b\x00\x7f\x85\u2028\u2029\u202e\u2066y") == (
        r"x\r\v\f\x1b\0\x7f\x85\u2028\u2029\u202e\u2066y"
    )
    assert neutralise("a ##[error] b ##[") == r"a ##\[error] b ##\["
    assert split_lines("a\rb\u2028c\nd") == ["a\rb\u2028c", "d"]
    assert Masker(["pw"]).safe("pw\x1b") == r"****\x1b"


def test_values_named_with_secret_join_the_models_secrets() -> None:
    target = Target("p", (Path("docker-compose.yml"),), ("DEPLOY_HOOK",))
    named = Stack(
        target,
        docker=cast(DockerClient, FakeDocker()),
        env={"DEPLOY_HOOK": "hook-value", "UNRELATED": "x"},
    )
    assert set(named.secrets()) == {PASSWORD, "hook-value"}


def test_every_kind_of_unsafe_character_has_its_visible_form() -> None:
    from smoke.masking import neutralise

    assert neutralise("\x08\x7f\x9b\x1f") == r"\x08\x7f\x9b\x1f"  # BS, DEL, CSI, US
    assert neutralise("\u2066\u2069\u202a") == r"\u2066\u2069\u202a"
    assert neutralise("tab\tand\nnewline") == "tab\tand\nnewline"
    assert neutralise("é ✓ 中") == "é ✓ 中"  # printable text is left as it is


def test_the_password_inside_a_url_is_found() -> None:
    from smoke.masking import url_password

    assert url_password("postgresql://app:s3cr3t@db:5432/x") == "s3cr3t"
    assert url_password("redis://:only-pass@cache") == "only-pass"
    assert url_password("https://example.test/a:b@c") is None
    assert url_password("no url here") is None
    assert url_password("postgresql://app@db/x") is None  # a user alone is no secret


def test_a_secret_that_begins_another_does_not_cut_the_longer_one_short() -> None:
    """Longest first: were "pass" tried first where both match, " word" would show."""
    from smoke.masking import MASK, Masker

    masked = Masker(["pass", "pass word"])("the value is pass word, and pass alone")
    assert masked == f"the value is {MASK}, and {MASK} alone"


def test_values_from_the_compose_model_are_masked_as_the_services_see_them() -> None:
    """`compose config` writes `$` as `$$`; a URL's password is also masked decoded."""
    docker = FakeDocker()
    model = docker.fixed_model()
    model["services"]["chat"]["environment"] = {
        "DB_PASSWORD": "hunter2$$abc",
        "DATABASE_URL": "postgresql://app:Xk9%40Lm2@db/contoso",
    }
    secrets = set(stack(docker).secrets())
    assert {"hunter2$abc", "Xk9%40Lm2", "Xk9@Lm2"} <= secrets
    assert "hunter2$$abc" not in secrets
