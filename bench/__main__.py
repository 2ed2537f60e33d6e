"""Benchmark the smoke against raw compose and its peers, on one machine, in one run.

    nox -s bench                    # 5 runs of each, plus a cold run
    nox -s bench -- --runs 1 --skip-cold

Every lite scenario does the same work on the same stack: start it, make the same
three HTTP checks (chat /health, chat /health/dependencies, web's proxied question),
and remove it. Scenarios are interleaved run by run, so drift on the machine hits all
of them alike; each figure is the median of the runs. Beside them: the physical
floor (db alone ready, one service alone ready, `down` of the bare stack), the full
profile with its browser step, the lean run (the same work with nothing but curl),
the local stack (model ready, retrieval latency, the full smoke warm), the builds (a
cold build, the rebuild after a dependency change and after a code change), and a
cold run with the image sizes. `--skip-cold` skips the cold run and the cold build,
the two that prune the engine's build cache. Results go to Markdown and
JSON (and a PNG when matplotlib is installed) under --out.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.builds import build_figures
from bench.figures import machine
from bench.report import write_results
from bench.scenarios import (
    EARLIER,
    EARLIER_FULL,
    ENV,
    ROOT,
    SCENARIOS,
    WARM_BUILDS,
    Sample,
    cold_run,
    earlier_release,
    local_stack_figures,
    run,
    smoke,
    tracing_figures,
)

for _name in ("NOX_CURRENT_SESSION", "KEEP_STACK", "CHAT_INSTALL_LOCAL_STACK", "CHAT_IMAGE_TAG"):
    ENV.pop(_name, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per scenario (default 5)")
    parser.add_argument("--skip-cold", action="store_true", help="skip the cold run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results", help="results folder")
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also time the harness and stack of an earlier commit, e.g. 360e269",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    for flags, projects in WARM_BUILDS:  # warm: each project's images built before timing
        for project in projects:
            run(smoke("build", "--project", project, *flags))
    scenarios = dict(SCENARIOS)
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    if args.against:
        scenarios[f"{EARLIER} {args.against}"] = earlier_release(args.against, workdir)
        scenarios[f"{EARLIER_FULL} {args.against}"] = earlier_release(args.against, workdir, "full")
    samples: dict[str, list[Sample]] = {name: [] for name in scenarios}
    for index in range(args.runs):
        # Every other run in reverse: no scenario always follows the same one (a build
        # just before a warm run slows it).
        order = list(scenarios) if index % 2 == 0 else list(reversed(scenarios))
        for name in order:
            sample = scenarios[name]()
            samples[name].append(sample)
            print(f"run {index + 1}/{args.runs}  {name}: {sample.total:.2f}s", flush=True)
    local = {**local_stack_figures(args.runs), **tracing_figures(args.runs, args.against)}
    # Builds last: the cold build prunes the engine's build cache.
    local.update(build_figures(args.runs, args.against, workdir, cold=not args.skip_cold))
    info = machine()
    # Warm results first, so a failing cold run loses nothing.
    write_results(args.out, samples, local, None, info, args.runs)
    if not args.skip_cold:
        write_results(args.out, samples, local, cold_run(), info, args.runs)
    print()
    print((args.out / "bench.md").read_text())
    print(f"results: {args.out}/ (bench.md, bench.json, bench.png with matplotlib)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
