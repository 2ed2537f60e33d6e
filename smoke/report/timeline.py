"""The run's trace and timeline, as two files next to the log file:

    e2e-trace.json    every span of the run, as OTLP/JSON (Jaeger and Grafana Tempo
                      import it); the smoke's own spans root each step's trace
    e2e-report.html   one self-contained page (no script, no fetch): a waterfall of
                      the containers (created, started, healthy), the steps and each
                      request's spans under its step; the failure highlighted, the
                      screenshot embedded, a browser trace linked

Every value is masked before it is encoded (a span's name, message, attributes and
events; the failure's words), and the page shows service text neutralised, each
further line of it marked: the screenshot is an image, the browser's trace an
archive, neither of which text masking can reach.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from smoke import clock
from smoke.errors import CheckFailed
from smoke.masking import Masker
from smoke.outcome import StepResult
from smoke.report.page import Failure, Row, page
from smoke.stack.state import ContainerTimes
from smoke.trace.context import BUILD_PHASE, RETRIED
from smoke.trace.spans import SMOKE_SERVICE, Span, masked, to_otlp

TRACE_FILE = "e2e-trace.json"
REPORT_FILE = "e2e-report.html"
#: Span rows shown under one step: a long wait polls many times.
MAX_SPAN_ROWS = 40
#: A wait's tries, this many or more, are one row that opens in place.
FOLD_AT = 2


@dataclass(frozen=True)
class TraceFiles:
    trace: Path
    report: Path
    #: Spans that came back from the services (not the smoke's own).
    service_spans: int


def write_trace_files(
    folder: Path,
    *,
    spans: Sequence[Span],
    steps: Sequence[StepResult],
    trace_ids: Mapping[str, str],
    containers: Sequence[ContainerTimes],
    failure: CheckFailed | None,
    attachments: Sequence[Path],
    masker: Masker,
    marked: frozenset[str] = frozenset(),
    notes: Sequence[str] = (),
) -> TraceFiles:
    folder.mkdir(parents=True, exist_ok=True)
    now = clock.time()
    spans = [masked(span, masker) for span in spans]  # masked, then encoded
    trace = folder / TRACE_FILE
    trace.write_text(json.dumps(to_otlp(spans, now=now), indent=1), encoding="utf-8")
    report = folder / REPORT_FILE
    rows = [
        _masked_row(row, masker) for row in _rows(spans, steps, trace_ids, containers, now, marked)
    ]
    said = _failure(failure, masker) if failure is not None else None
    notes = [masker(note) for note in notes]
    report.write_text(page(rows, len(steps), said, attachments, now, notes), encoding="utf-8")
    return TraceFiles(trace, report, sum(1 for s in spans if s.service != SMOKE_SERVICE))


def _failure(failure: CheckFailed, masker: Masker) -> Failure:
    return Failure(
        masker(failure.step),
        masker(failure.failure_class),
        masker(str(failure)),
        masker(failure.blame or failure.no_trace or ""),
    )


def _masked_row(row: Row, masker: Masker) -> Row:
    return replace(row, label=masker(row.label), title=masker(row.title))


def _rows(
    spans: Sequence[Span],
    steps: Sequence[StepResult],
    trace_ids: Mapping[str, str],
    containers: Sequence[ContainerTimes],
    now: float,
    marked: frozenset[str] = frozenset(),
) -> list[Row]:
    rows: list[Row] = []
    for c in containers:
        if c.created is None:
            continue
        ready = c.healthy or c.started or c.created
        said = f"created {_clock(c.created)}, started {_clock(c.started)}"
        said += f", healthy {_clock(c.healthy)}" if c.healthy else ""
        rows.append(Row("container", c.service, c.created, max(ready, c.created), title=said))
    by_parent: dict[str | None, list[Span]] = {}
    for span in sorted(spans, key=lambda s: s.start):
        by_parent.setdefault(span.parent_id, []).append(span)
    for step in steps:
        start = step.finished_at - step.seconds
        rows.append(
            Row(
                "step",
                step.name,
                start,
                step.finished_at,
                failed=not step.passed,
                title=f"{step.seconds:.2f} s",
            )
        )
        trace_id = trace_ids.get(step.name)
        roots = [s for s in spans if s.trace_id == trace_id and s.parent_id is None]
        requests = [child for root in roots for child in by_parent.get(root.span_id, [])]
        critical = _critical_path(requests, by_parent, now) if not step.passed else set()
        under: list[Row] = []
        for tries in _tries(requests):
            walked: list[Row] = []
            for request in tries[-MAX_SPAN_ROWS:]:
                _walk(request, 1, by_parent, walked, now, marked=marked, critical=critical)
            if len(tries) < FOLD_AT:
                under += walked
                continue
            under.append(_fold(tries, now))
            under += [replace(row, folded=True, depth=row.depth + 1) for row in walked]
        shown = [row for row in under if not row.folded]
        if len(shown) > MAX_SPAN_ROWS:  # a long wait nobody retried: its last rows
            first_kept = shown[-MAX_SPAN_ROWS]
            under = under[under.index(first_kept) :]
        rows += under
    return rows


def _tries(requests: Sequence[Span]) -> list[list[Span]]:
    """Requests in order, a wait's tries together: a retried request and the one that
    tried it again, by the same name."""
    groups: list[list[Span]] = []
    for request in requests:
        previous = groups[-1][-1] if groups else None
        if (
            previous is not None
            and previous.attributes.get(RETRIED)
            and previous.name == request.name
        ):
            groups[-1].append(request)
        else:
            groups.append([request])
    return groups


def _fold(tries: Sequence[Span], now: float) -> Row:
    """A wait's tries as one row: how many, how long, what the first and last said."""
    first, last = tries[0], tries[-1]
    end = max(t.start + t.duration(now) for t in tries)
    said = (
        f"{len(tries)} tries, {end - first.start:.1f} s, first {_said(first)}, last {_said(last)}"
    )
    return Row(
        "fold",
        f"{first.service} {first.name} ×{len(tries)}",
        first.start,
        end,
        failed=last.failed and not last.attributes.get(RETRIED),
        depth=1,
        title=said,
        retried=bool(last.attributes.get(RETRIED)),
        service=first.service,
    )


def _said(span: Span) -> str:
    status = span.http_status
    return str(status) if status else (span.message.split(":")[0] or "ok") if span.failed else "ok"


def _critical_path(
    requests: Sequence[Span], by_parent: Mapping[str | None, list[Span]], now: float
) -> set[str]:
    """The failing request down to its deepest hop: at each level the child that
    failed, else the one that took longest."""
    path: set[str] = set()
    current = requests[-1] if requests else None
    for _ in range(64):  # a tree's depth; bounded all the same
        if current is None:
            break
        path.add(current.span_id)
        children = by_parent.get(current.span_id, [])
        failed = [c for c in children if c.failed]
        pool = failed or children
        current = max(pool, key=lambda c: c.duration(now)) if pool else None
    return path


def _walk(
    span: Span,
    depth: int,
    by_parent: Mapping[str | None, list[Span]],
    rows: list[Row],
    now: float,
    *,
    marked: frozenset[str],
    critical: set[str],
    retried: bool = False,
) -> None:
    """A span's row and its children's: a try its wait retried (marked on its span)
    is drawn as a retry, with everything under it; any other failure as one."""
    status = span.http_status
    took = span.duration(now)
    label = f"{span.service} {span.name}" + (f" {status}" if status else "")
    why = span.message or ("no answer" if span.end is None else "")
    title = f"{took * 1000:.1f} ms" + (f" ({why})" if why else "")
    retried = retried or bool(span.attributes.get(RETRIED))
    rows.append(
        Row(
            "span",
            label,
            span.start,
            span.start + took,
            span.failed and not retried,
            depth,
            title,
            retried and span.failed,
            span.span_id in marked,
            span.service,
            span.span_id in critical,
            collapsible=span.service == SMOKE_SERVICE and span.name == BUILD_PHASE,
        )
    )
    for child in by_parent.get(span.span_id, []):
        _walk(
            child,
            depth + 1,
            by_parent,
            rows,
            now,
            marked=marked,
            critical=critical,
            retried=retried,
        )


def _clock(at: float | None) -> str:
    if at is None:
        return "?"
    return time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}"
