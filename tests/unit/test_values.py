"""What an option's value may be: each type says what is wrong, in one line."""

from __future__ import annotations

import argparse

import pytest

from smoke.values import (
    env_name,
    http_url,
    parse_size,
    positive_count,
    positive_seconds,
    project_name,
    size,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("2.5GB", 2_500_000_000),
        ("1.5 gb", 1_500_000_000),
        ("800MB", 800_000_000),
        ("1500000000", 1_500_000_000),
        ("10KB", 10_000),
        ("3G", 3_000_000_000),
    ],
)
def test_sizes_are_decimal(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["big", "2.5 GiB", "-1GB", ""])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("kind", "text", "said"),
    [
        (positive_count, "two", "'two' is not a whole number"),
        (positive_count, "0", "0 is out of range; give 1 to 10000"),
        (positive_count, "10001", "10001 is out of range; give 1 to 10000"),
        (positive_seconds, "soon", "'soon' is not a number of seconds"),
        (positive_seconds, "0", "0 is out of range; give seconds in (0, 3600]"),
        (positive_seconds, "3601", "3601 is out of range; give seconds in (0, 3600]"),
        (http_url, "ftp://x", "'ftp://x' is not an http(s) URL; e.g. http://127.0.0.1:3000"),
        (http_url, "http://", "'http://' is not an http(s) URL; e.g. http://127.0.0.1:3000"),
        (size, "big", "'big' is not a size; e.g. 2.5GB, 800MB or 1500000000"),
        (project_name, "Team", "'Team' is not a compose project name"),
        (project_name, "-x", "'-x' is not a compose project name"),
        (env_name, "1ST", "'1ST' is not an env variable name"),
    ],
)
def test_a_bad_value_says_what_is_wrong(kind: object, text: str, said: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        kind(text)  # type: ignore[operator]
    assert str(raised.value).startswith(said)


def test_good_values_come_back_as_values() -> None:
    assert positive_count("10000") == 10_000
    assert positive_seconds("3600") == 3600.0
    assert positive_seconds("0.5") == 0.5
    assert http_url("http://127.0.0.1:3000/") == "http://127.0.0.1:3000"
    assert size("1KB") == 1000
    assert project_name("team_a-1") == "team_a-1"
    assert env_name("_KEEP_2") == "_KEEP_2"
