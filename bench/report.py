"""The benchmark's results: Markdown, JSON and (with matplotlib) a PNG."""

from __future__ import annotations

import json
from pathlib import Path

from bench.figures import TARGETS, summarize
from bench.scenarios import RAW, Sample


def markdown(summary: dict[str, object], info: dict[str, str], runs: int) -> str:
    totals = summary["totals"]
    figures = summary["figures"]
    steps = summary["harness_steps"]
    cold = summary["cold"]
    assert isinstance(totals, dict)
    assert isinstance(figures, dict)
    assert isinstance(steps, dict)
    raw = totals[RAW]
    out = [
        "# contoso-smoke benchmark",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()),
        "",
        f"Warm runs (images built), median of {runs} interleaved runs each:",
        "",
        "| scenario | median (s) | × raw |",
        "| --- | ---: | ---: |",
    ]
    out += [f"| {name} | {value:.2f} | {value / raw:.2f} |" for name, value in totals.items()]
    out += ["", "| figure | value | target | met |", "| --- | ---: | ---: | --- |"]
    for name, value in figures.items():
        target = TARGETS.get(name)
        met = "" if target is None else ("yes" if value <= target else "**no**")
        shown = f"{value:.1f}" if name.endswith("(ms)") else f"{value:.2f}"
        out.append(f"| {name} | {shown} | {'' if target is None else f'≤ {target:.2g}'} | {met} |")
    out += ["", "Harness steps, lite (median seconds):", "", "| step | seconds |", "| --- | ---: |"]
    out += [f"| {name} | {value:.3f} |" for name, value in steps.items()]
    if isinstance(cold, dict):
        mb = 1e6
        base = cold["base_image_bytes"]

        def size_row(name: str, key: str, allowance: float) -> str:
            ok = cold[key] <= base + allowance * mb
            target = f"≤ base + {allowance:g}"
            return f"| {name} | {cold[key] / mb:.1f} | {target} | {'yes' if ok else '**no**'} |"

        out += [
            "",
            "Cold run (no contoso image or build cache) and image sizes (decimal MB):",
            "",
            "| figure | value | target | met |",
            "| --- | ---: | ---: | --- |",
            f"| cold run (s) | {cold['cold_run_seconds']:.1f} | | |",
            f"| base image | {base / mb:.1f} | | |",
            size_row("chat lite", "chat_lite_image_bytes", 100),
            size_row("chat local", "chat_local_image_bytes", 250),
            size_row("web", "web_image_bytes", 60),
        ]
    return "\n".join(out) + "\n"


def plot(summary: dict[str, object], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    totals = summary["totals"]
    steps = summary["harness_steps"]
    assert isinstance(totals, dict)
    assert isinstance(steps, dict)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    names = list(totals)
    left.barh(names, [totals[n] for n in names], color="#4C72B0")
    left.invert_yaxis()
    left.set_xlabel("median seconds")
    left.set_title("Whole run, warm")
    right.barh(list(steps), list(steps.values()), color="#55A868")
    right.invert_yaxis()
    right.set_xlabel("median seconds")
    right.set_title("Harness steps (lite)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def write_results(
    out: Path,
    samples: dict[str, list[Sample]],
    local: dict[str, float],
    cold: dict[str, float] | None,
    info: dict[str, str],
    runs: int,
) -> None:
    summary = summarize(samples, local, cold)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(markdown(summary, info, runs))
    samples_json = {
        name: [{"total": s.total, **s.parts} for s in samples_of]
        for name, samples_of in samples.items()
    }
    document = {"machine": info, "runs": runs, **summary, "local": local}
    document["samples"] = samples_json
    (out / "bench.json").write_text(json.dumps(document, indent=2))
    plot(summary, out / "bench.png")
