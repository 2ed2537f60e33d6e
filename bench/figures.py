"""From samples to figures: medians, ratios against raw compose, the targets."""

from __future__ import annotations

import os
import platform
import statistics
from datetime import datetime
from pathlib import Path

from python_on_whales import DockerClient

from bench.scenarios import (
    EARLIER,
    EARLIER_FULL,
    FULL,
    HARNESS,
    LEAN,
    LOCAL,
    NEW_PROJECT_BUILD,
    NO_REAPER,
    NOX_LITE,
    RAW,
    SPECS_OFF,
    TRACE_OFF,
    Sample,
)

TARGETS = {
    "harness / raw": 0.5,
    "harness (s)": 2.8,
    "nox smoke_lite / raw": 1.25,
    "compose up (s)": 1.5,
    "teardown (s)": 0.6,
    "readiness lag (s)": 0.3,
    "reaper cost (s)": 0.05,
    "browser step (s)": 2.0,
    "model ready (s)": 1.5,
    "retrieval p95 (ms)": 50.0,
    # Issue #21's budget for tracing: each at most 0.1 s.
    "tracing: warm lite smoke added (s)": 0.1,
    "trace specs: warm lite smoke added (s)": 0.05,
    "trace specs: judging, in the run (s)": 0.05,
    "tracing: chat start-up added (s)": 0.1,
    "tracing: web start-up added (s)": 0.1,
    # Issue #35's: where users wait.
    "full profile added to lite (s)": 0.5,
    "warm overhead over the lean run (s)": 0.2,
    "rebuild after a dependency change: web, this commit (s)": 3.0,
    "rebuild after a dependency change: chat lite, this commit (s)": 4.0,
    "rebuild after a dependency change: chat local, this commit / against": 1 / 3,
    "cold build, web + chat lite: this commit / against": 0.5,
}


def machine() -> dict[str, str]:
    docker = DockerClient()
    info = docker.system.info()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    )
    return {
        "cpu": f"{os.cpu_count()} × {cpu}",
        "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "docker engine": str(info.server_version),
        "compose": docker.compose.version().split()[-1],
        "storage driver": str(info.driver),
        "python": platform.python_version(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def part(samples: list[Sample], name: str) -> float:
    return median([s.parts[name] for s in samples if name in s.parts])


def summarize(
    samples: dict[str, list[Sample]], local: dict[str, float], cold: dict[str, float] | None
) -> dict[str, object]:
    totals = {name: median([s.total for s in runs]) for name, runs in samples.items()}
    raw = totals[RAW]
    harness_runs = samples[HARNESS]
    step_names = list(dict.fromkeys(k for s in harness_runs for k in s.parts))
    steps = {k: part(harness_runs, k) for k in step_names if k != "readiness_lag"}
    floor_runs = samples["floor: db alone, a service alone, bare down"]
    figures: dict[str, float] = {
        "harness (s)": totals[HARNESS],
        "harness / raw": totals[HARNESS] / raw,
        "harness --no-build / raw": totals["harness, --no-build"] / raw,
        "nox smoke_lite / raw": totals[NOX_LITE] / raw,
        "nox overhead (s)": totals[NOX_LITE] - totals[HARNESS],
        "reaper cost (s)": totals[HARNESS] - totals[NO_REAPER],
        "compose up (s)": steps.get("compose_up", float("nan")),
        "teardown (s)": steps.get("teardown", float("nan")),
        "raw down -v (s)": part(samples[RAW], "teardown"),
        "readiness lag (s)": part(harness_runs, "readiness_lag"),
        "raw readiness lag (s)": part(samples[RAW], "readiness_lag"),
        "floor: db alone ready (s)": part(floor_runs, "db_alone_ready"),
        "floor: a service alone ready (s)": part(floor_runs, "service_alone_ready"),
        "floor: down of the bare stack (s)": part(floor_runs, "bare_down"),
        "browser step (s)": part(samples[FULL], "web_page_browser"),
        "full profile added to lite (s)": totals[FULL] - totals["harness, --no-build"],
        "warm overhead over the lean run (s)": totals["harness, --no-build"] - totals[LEAN],
        "full smoke, local stack (s)": totals[LOCAL],
        "new project's first build (s)": totals[NEW_PROJECT_BUILD],
        **{
            f"harness --no-build / {name.removeprefix(EARLIER).strip()}": (
                totals["harness, --no-build"] / value
            )
            for name, value in totals.items()
            if name.startswith(EARLIER)
        },
        "semantic retrieval step (s)": part(samples[LOCAL], "semantic_retrieval"),
    }
    for name, value in totals.items():  # the same two figures for the earlier release
        if name.startswith(EARLIER_FULL):
            lite = totals[name.replace(EARLIER_FULL, EARLIER)]
            figures["full profile added to lite, against (s)"] = value - lite
        elif name.startswith(EARLIER):
            figures["warm overhead over the lean run, against (s)"] = value - totals[LEAN]
    if TRACE_OFF in totals:  # what tracing costs a warm lite smoke, in the same run
        figures["tracing: warm lite smoke added (s)"] = (
            totals["harness, --no-build"] - totals[TRACE_OFF]
        )
        figures["harness --no-build / --no-trace"] = (
            totals["harness, --no-build"] / totals[TRACE_OFF]
        )
    if SPECS_OFF in totals:  # what judging the default specs costs, in the same run
        figures["trace specs: warm lite smoke added (s)"] = (
            totals["harness, --no-build"] - totals[SPECS_OFF]
        )
        # The same, timed inside the run: the whole-run figure above is within noise.
        figures["trace specs: judging, in the run (s)"] = part(
            samples["harness, --no-build"], "specs_judged"
        )
    figures.update(
        {
            k: v
            for k, v in local.items()
            if k.startswith(("tracing: ", "rebuild ", "cold build", "model ready, "))
        }
    )
    if "model_ready_seconds" in local:
        figures["model ready (s)"] = local["model_ready_seconds"]
        figures["model ready, slowest (s)"] = local["model_ready_slowest_seconds"]
        figures["retrieval median (ms)"] = local["retrieval_median_ms"]
        figures["retrieval p95 (ms)"] = local["retrieval_p95_ms"]
    return {"totals": totals, "figures": figures, "harness_steps": steps, "cold": cold}
