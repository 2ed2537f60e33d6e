"""The trace specs' verdicts as a person and the reports see them: a line for the
specs that held, a failure line of its own for each spec that broke (the spec, its
step, the assertion, what was measured, the spans it selected), and why none was
judged when none could be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from smoke import clock
from smoke.errors import SpecFailed
from smoke.masking import Masker, quoted
from smoke.outcome import SpecOutcome
from smoke.report.console import Console
from smoke.trace.spans import Span
from smoke.trace.specs import Spec, Verdict, judge
from smoke.words import counted

#: Selected spans shown under a failed spec (the report marks them all).
SHOWN_SPANS = 12


@dataclass(frozen=True)
class Judged:
    """What the specs said of a run, for its summary, reports and timeline."""

    outcomes: tuple[SpecOutcome, ...] = ()
    #: The spans the failed specs selected, marked in the timeline.
    marked: frozenset[str] = frozenset()
    failure: SpecFailed | None = None
    #: Why no spec was judged (tracing off, no spans to judge).
    not_judged: str | None = None
    #: What judging them took, on the run's critical path.
    seconds: float | None = None


def judge_run(
    specs: Sequence[Spec],
    spans: Sequence[Span],
    traces: Mapping[str, str],
    passed: Sequence[str],
    console: Console,
    masker: Masker,
) -> Judged:
    """Judge ``specs`` on the run's spans and say the result on ``console``."""
    started = clock.monotonic()
    verdicts = judge(specs, spans, traces, passed)
    outcomes, marked = [], set()
    failure: SpecFailed | None = None
    for spec in specs:
        mine = [v for v in verdicts if v.spec is spec]
        broken = next((v for v in mine if not v.passed), None)
        unjudged = next((v for v in mine if not v.judged), None)
        if unjudged is not None:
            console.line(masker(f"  trace spec {spec.name}: {unjudged.measured}"))
            outcomes.append(SpecOutcome(spec.name, True, unjudged.measured))
            continue
        if broken is None:
            outcomes.append(SpecOutcome(spec.name, True))
            continue
        said = _said(broken)
        outcomes.append(SpecOutcome(spec.name, False, said))
        marked |= {span.span_id for span in broken.selected}
        _explain(broken, said, clock.monotonic() - started, console, masker)
        if failure is None:
            failure = SpecFailed(said, step=f"trace spec: {spec.name}")
            failure.blame = f"spec: {said}"
    held = sum(1 for o in outcomes if o.passed and not o.said)
    if failure is None:  # a summary line, not a step's: no mark in the steps' column
        console.line(
            f"  trace specs: {counted(held, 'spec')} held over "
            f"{counted(len(passed), 'passing step')}"
        )
    return Judged(tuple(outcomes), frozenset(marked), failure, seconds=clock.monotonic() - started)


def _said(verdict: Verdict) -> str:
    return f"{verdict.spec.name} ({verdict.step}): {verdict.assertion}: {verdict.measured}"


def _explain(verdict: Verdict, said: str, seconds: float, console: Console, masker: Masker) -> None:
    console.step_done(masker(f"trace spec: {verdict.spec.name}"), seconds, passed=False)
    with console.untrusted():
        console.detail(quoted(masker(f"spec: {said}")))
        console.detail(quoted(masker(f"from: {verdict.spec.source}")))
        if not verdict.selected:
            return
        console.detail(f"the spans it selected ({len(verdict.selected)}):")
        for span in verdict.selected[:SHOWN_SPANS]:
            status = span.http_status
            took = f"{(span.end - span.start) * 1000:.0f} ms" if span.end is not None else "open"
            line = f"  {span.service} {span.name}" + (f"  {status}" if status else "")
            console.detail(quoted(masker(f"{line}  {took}")))
