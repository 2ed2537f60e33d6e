"""Where trace specs come from: built in, pyproject.toml, --spec files, SMOKE_SPECS;
turned off by --no-specs and --no-trace; refused, before anything starts, when they
cannot be read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smoke.errors import UsageError
from smoke.options import RunOptions, load_specs, parse
from smoke.trace.specs import BUILT_IN

SPEC = "[[spec]]\nname = '{name}'\nassert = ['count == 0']\n"


def written(path: Path, name: str) -> Path:
    path.write_text(SPEC.format(name=name), encoding="utf-8")
    return path


def test_every_source_in_order(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[tool.smoke.budgets]\nmax_duration_seconds = 60\n"
        + SPEC.replace("[[spec]]", "[[tool.smoke.spec]]").format(name="from pyproject"),
        encoding="utf-8",
    )
    flag = written(tmp_path / "a.toml", "from --spec")
    envs = [written(tmp_path / "b.toml", "from env b"), written(tmp_path / "c.toml", "from env c")]
    env = {"SMOKE_SPECS": os.pathsep.join(str(p) for p in envs)}
    names = [s.name for s in load_specs([flag], env, pyproject)]
    assert names == [BUILT_IN.name, "from pyproject", "from --spec", "from env b", "from env c"]
    sources = [s.source for s in load_specs([flag], {}, pyproject)]
    assert sources == ["built in", f"[[tool.smoke.spec]] of {pyproject}", str(flag)]


def test_the_repositorys_own_pyproject_holds_the_reference_stacks_defaults() -> None:
    names = [s.name for s in load_specs([], {}, Path(__file__).parents[2] / "pyproject.toml")]
    assert names == [
        "no error span in a passing step",
        "web calls chat once per question",
        "chat reads and writes db at most 3 times per question",
        "chat's retrieval within 500 ms",
    ]


def test_no_specs_and_no_trace_turn_them_off_saying_why(tmp_path: Path) -> None:
    spec = str(written(tmp_path / "a.toml", "mine"))
    for argv, env, why in [
        (("--no-specs", "--spec", spec), {}, "--no-specs"),
        (("--no-trace", "--spec", spec), {}, "tracing is off"),
        ((), {"SMOKE_TRACE": "0"}, "tracing is off"),
    ]:
        options = parse(["run", *argv], env=env)
        assert isinstance(options, RunOptions)
        assert (options.specs, options.specs_off) == ((), why)
    on = parse(["run", "--spec", spec], env={})
    assert isinstance(on, RunOptions)
    assert [s.name for s in on.specs][-1] == "mine"
    assert on.specs_off is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "[[spec]]\nname = 'x'\nselect = { service = chat }\n",
            "is not valid TOML: Invalid value (at line 3, column 22)",
        ),
        (
            "[[spec]]\nname = 'x'\nassert = ['count = 1']\n",
            ": spec 'x': cannot read the assertion 'count = 1'",
        ),
        (
            "[[check]]\nname = 'x'\n[[other]]\nname = 'y'\n",
            ": unknown table check, other; a spec file holds [[spec]] tables",
        ),
        ("spec = 'x'\n", ": specs are an array of tables ([[spec]])"),
    ],
)
def test_a_spec_file_that_cannot_be_read_is_a_usage_error_naming_it(
    tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "specs.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_specs([path], {}, tmp_path / "none.toml")
    assert str(caught.value).startswith(str(path))
    assert said in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_spec_file_that_is_not_there_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"spec file not found: .*nope.toml; pass an existing"):
        load_specs([], {"SMOKE_SPECS": str(tmp_path / "nope.toml")}, tmp_path / "none.toml")


def test_a_pyproject_without_specs_or_a_smoke_table_and_a_file_without_any_add_none(
    tmp_path: Path,
) -> None:
    """Only the built-in spec: pyproject.toml without [tool], or [tool] without
    [tool.smoke], and a spec file that holds no [[spec]]."""
    empty = tmp_path / "empty.toml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    for text in ("[project]\nname = 'x'\n", "[tool.ruff]\nline-length = 100\n"):
        pyproject = tmp_path / "pyproject.toml"
        pyproject.write_text(text, encoding="utf-8")
        assert load_specs([empty], {}, pyproject) == (BUILT_IN,)
