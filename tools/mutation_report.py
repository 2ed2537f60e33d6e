"""`nox -s mutants`: mutation testing of smoke/ with the fast tests, scored per module.

Runs `mutmut run` (configured in [tool.mutmut] of pyproject.toml: smoke/ mutated,
tests/unit judging), reads each mutant's result from mutmut's own records
(mutants/smoke/**/*.meta), and prints, per module, how many mutants the tests killed.
Mutants listed in docs/mutation.md as equivalent to the original (each with the
reason) leave the count. The table is written back into docs/mutation.md. Exit 1
when a target is missed, so a scheduled run says so.

    nox -s mutants                 # the whole run (hours; a stopped run goes on from its records)
    nox -s mutants -- --survivors  # judge again only what survived, by today's tests
    nox -s mutants -- --report     # only the table, from the last run's records
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "mutants" / "smoke"
#: mutmut's map of which tests reach which function, made once; later runs add new
#: tests to it, but never an old test that reaches a new or changed function.
TEST_MAP = ROOT / "mutants" / "mutmut-stats.json"
DOC = ROOT / "docs" / "mutation.md"
TARGET_OVERALL = 0.95
#: The modules every run depends on to end well: each held to the overall target too.
TARGETS = {
    name: 0.95
    for name in ("run", "lifecycle", "signals", "stack.teardown", "masking", "report.files")
}
KILLED = frozenset({"killed", "timeout", "caught by type check", "segfault", "ended by a signal"})
_TABLE_START, _TABLE_END = "<!-- table -->", "<!-- /table -->"
_EQUIVALENT = re.compile(r"^- `(smoke\.[^`]+__mutmut_\d+)`")


@dataclass
class Score:
    killed: int = 0
    survived: int = 0
    untested: int = 0
    equivalent: int = 0

    @property
    def counted(self) -> int:
        return self.killed + self.survived + self.untested

    @property
    def ratio(self) -> float:
        return self.killed / self.counted if self.counted else 1.0


def equivalents() -> set[str]:
    """Mutants docs/mutation.md lists as equivalent to the original."""
    if not DOC.is_file():
        return set()
    return {m.group(1) for line in DOC.read_text().splitlines() if (m := _EQUIVALENT.match(line))}


def status(exit_code: int | None) -> str:
    from mutmut.stats import status_by_exit_code  # mutmut's own reading of its records

    if exit_code is not None and exit_code < 0 and exit_code not in status_by_exit_code:
        # The tests' process died of a signal the mutant let through (a handler not
        # installed, a mask not set): the tests did not pass. mutmut says "suspicious".
        return "ended by a signal"
    return str(status_by_exit_code[exit_code])


def scores() -> dict[str, Score]:
    skip = equivalents()
    table: dict[str, Score] = {}
    for meta in sorted(RECORDS.rglob("*.py.meta")):  # smoke/ and its layers
        module = str(meta.relative_to(RECORDS)).removesuffix(".py.meta").replace("/", ".")
        score = table.setdefault(module, Score())
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if key in skip:
                score.equivalent += 1
                continue
            verdict = status(code)
            if verdict in KILLED:
                score.killed += 1
            elif verdict in ("no tests", "not checked", "skipped"):
                score.untested += 1
            else:
                score.survived += 1
    return {name: s for name, s in table.items() if s.counted or s.equivalent}


def verdicts() -> Counter[str]:
    """How many mutants had each verdict, over smoke/ and its layers."""
    return Counter(
        status(code)
        for meta in RECORDS.rglob("*.py.meta")
        for code in json.loads(meta.read_text())["exit_code_by_key"].values()
    )


def survivors() -> list[str]:
    """Mutants whose last verdict was survived or no test, equivalents left out."""
    skip = equivalents()
    return [
        key
        for meta in sorted(RECORDS.rglob("*.py.meta"))
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items()
        if key not in skip and code is not None and status(code) in ("survived", "no tests")
    ]


def reset(names: list[str]) -> int:
    """Clear the recorded verdicts of ``names`` and mutmut's test map: the next ``mutmut
    run`` maps today's tests to today's code, then judges them."""
    TEST_MAP.unlink(missing_ok=True)
    wanted, cleared = set(names), 0
    for meta in sorted(RECORDS.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        mine = [key for key in codes if key in wanted]
        if mine:
            codes.update(dict.fromkeys(mine))
            meta.write_text(json.dumps(data))
            cleared += len(mine)
    return cleared


def markdown(table: dict[str, Score]) -> tuple[str, bool]:
    total = Score()
    lines = [
        "| module | mutants | killed | survived | no test | equivalent | killed % | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    met = True
    for name, score in table.items():
        for field in ("killed", "survived", "untested", "equivalent"):
            setattr(total, field, getattr(total, field) + getattr(score, field))
        target = TARGETS.get(name)
        ok = target is None or score.ratio >= target
        met = met and ok
        mark = "" if target is None else f"≥ {target:.0%} {'yes' if ok else '**no**'}"
        lines.append(
            f"| {name} | {score.counted} | {score.killed} | {score.survived} | {score.untested} "
            f"| {score.equivalent} | {score.ratio:.1%} | {mark} |"
        )
    ok = total.ratio >= TARGET_OVERALL
    met = met and ok
    lines.append(
        f"| **all of smoke/** | {total.counted} | {total.killed} | {total.survived} "
        f"| {total.untested} | {total.equivalent} | **{total.ratio:.1%}** "
        f"| ≥ {TARGET_OVERALL:.0%} {'yes' if ok else '**no**'} |"
    )
    return "\n".join(lines), met


def write_doc(table_md: str) -> None:
    version = subprocess.run(
        [sys.executable, "-m", "mutmut", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    run = f"Run of {date.today().isoformat()} ({version}):"
    block = f"{_TABLE_START}\n{run}\n\n{table_md}\n{_TABLE_END}"
    text = (
        DOC.read_text()
        if DOC.is_file()
        else f"# Mutation testing\n\n{_TABLE_START}\n{_TABLE_END}\n"
    )
    before, _, rest = text.partition(_TABLE_START)
    _, _, after = rest.partition(_TABLE_END)
    DOC.write_text(before + block + after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s mutants --", description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="only score the last run's records")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/mutation.md")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run again only the mutants that survived or had no test (mutmut keeps a "
        "verdict until its function changes, so new tests count only this way)",
    )
    args = parser.parse_args(argv)
    if args.survivors:
        # Their verdicts are cleared and a plain run judges what has none: mutmut 3.8.1's
        # run by names fails here (a child it did not start, in its result drain).
        print(f"{reset(survivors())} mutants to judge again")
    if not args.report:
        subprocess.run([sys.executable, "-m", "mutmut", "run"], cwd=ROOT, check=False)
    if not RECORDS.is_dir():
        print("no mutmut records: run `nox -s mutants` first", file=sys.stderr)
        return 2
    table = scores()
    table_md, met = markdown(table)
    print(table_md)
    print("\nmutmut's verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts().items())))
    if not args.no_write:
        write_doc(table_md)
        print(f"table written to {DOC.relative_to(ROOT)}")
    print("targets met" if met else "targets NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
