"""The package's layers as docs/development.md states them: each subpackage and each
top-level module of `smoke/` is one room, and a room imports only from rooms below it.
Read from the code's own imports (type-only ones too), so no loop can come back."""

from __future__ import annotations

import ast
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "smoke"
#: Bottom first: the foundation, then each layer on those below it.
ORDER = (
    "clock",
    "errors",
    "masking",
    "outcome",
    "words",
    "signals",
    "stack/",
    "trace/",
    "report/",
    "steps",
    "values",
    "parser",
    "options",
    "checks/",
    "preparation",
    "plan",
    "finish",
    "ended",
    "lifecycle",
    "commands",
    "fuzz",
    "run",
    "cli",
    "__main__",
)


@functools.cache
def nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of a module, parsed once for all the tests here."""
    return tuple(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def room_of(module: str) -> str:
    """`smoke.stack.compose` -> `stack/`; `smoke.run` -> `run`."""
    parts = module.split(".")
    if len(parts) < 2:
        return "__init__"
    return f"{parts[1]}/" if (PACKAGE / parts[1]).is_dir() else parts[1]


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every `smoke` module a file imports, wherever it does."""
    for node in nodes(path):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("smoke."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "smoke":  # `from smoke import signals`
                yield from ((node.lineno, f"smoke.{a.name}") for a in node.names)
            elif node.module.startswith("smoke."):
                yield node.lineno, node.module


def imports() -> Iterator[tuple[str, str, str]]:
    """(importing room, imported room, where) across rooms."""
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        source = room_of(module)
        for line, name in imported(path):
            target = room_of(name)
            if target != source:
                yield source, target, f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"


def test_every_room_has_its_place_in_the_order() -> None:
    rooms = {
        room_of(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts))
        for p in PACKAGE.rglob("*.py")
    }
    assert rooms - {"__init__"} == set(ORDER)


def test_no_room_imports_from_a_room_above_it() -> None:
    rank = {room: at for at, room in enumerate(ORDER)}
    upward = [where for source, target, where in imports() if rank[target] > rank[source]]
    assert upward == []


def test_no_module_imports_in_a_circle() -> None:
    """Inside a room too: a module never reaches itself through its imports."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        graph[module.removesuffix(".__init__")] = {name for _, name in imported(path)}
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            name = todo.pop()
            assert name != start, f"{start} imports itself through {sorted(seen)}"
            if name not in seen:
                seen.add(name)
                todo += graph.get(name, ())


@pytest.mark.parametrize(
    ("module", "room"),
    [("smoke.stack.compose", "stack/"), ("smoke.run", "run"), ("smoke", "__init__")],
)
def test_rooms_are_subpackages_and_top_level_modules(module: str, room: str) -> None:
    assert room_of(module) == room


def test_every_module_has_a_test_file_of_its_own() -> None:
    """`smoke/stack/compose.py` -> `tests/unit/test_compose.py` (a second file for one
    module carries a suffix: `test_compose_requests.py`)."""
    tests = {path.stem for path in (PACKAGE.parent / "tests" / "unit").glob("test_*.py")}
    untested = [
        str(path.relative_to(PACKAGE.parent))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.stem not in ("__init__", "__main__") and f"test_{path.stem}" not in tests
    ]
    assert untested == []


#: The one function allowed to be long: argparse's declarations, one option after another.
LONG_BY_DESIGN = {"smoke/parser.py:build_parser"}


@pytest.mark.skipif(
    "MUTANT_UNDER_TEST" in os.environ, reason="mutmut's copy of the code is not the code's size"
)
def test_no_module_over_400_lines_and_no_function_over_60() -> None:
    too_long: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(PACKAGE.parent).as_posix()
        if len(text.splitlines()) > 400:
            too_long.append(f"{where}: {len(text.splitlines())} lines")
        for node in nodes(path):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > 60 and f"{where}:{node.name}" not in LONG_BY_DESIGN:
                    too_long.append(f"{where}:{node.name}: {lines} lines")
    assert too_long == []


def test_only_stack_names_python_on_whales() -> None:
    """What leaves `stack/` raises the smoke's own EngineCallError: no layer above
    imports the library, its exceptions included."""
    naming = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "stack":
            continue
        for node in nodes(path):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "python_on_whales" for name in names):
                naming.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert naming == []
