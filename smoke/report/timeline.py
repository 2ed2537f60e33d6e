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

import base64
import html
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from smoke.errors import CheckFailed
from smoke.masking import Masker, neutralise, quoted
from smoke.outcome import StepResult
from smoke.stack.state import ContainerTimes
from smoke.trace.context import RETRIED
from smoke.trace.spans import SMOKE_SERVICE, Span, masked, to_otlp

TRACE_FILE = "e2e-trace.json"
REPORT_FILE = "e2e-report.html"
#: Span rows shown under one step: a long wait polls many times.
MAX_SPAN_ROWS = 40


@dataclass(frozen=True)
class TraceFiles:
    trace: Path
    report: Path
    #: Spans that came back from the services (not the smoke's own).
    service_spans: int


@dataclass(frozen=True)
class _Row:
    kind: str  # container, step, span
    label: str
    start: float
    end: float
    failed: bool = False
    depth: int = 0
    title: str = ""
    #: A wait's early try (the wait marked it), or a span under one.
    retried: bool = False
    #: A span a failed trace spec selected.
    selected: bool = False


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
) -> TraceFiles:
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    spans = [masked(span, masker) for span in spans]  # masked, then encoded
    trace = folder / TRACE_FILE
    trace.write_text(json.dumps(to_otlp(spans, now=now), indent=1), encoding="utf-8")
    report = folder / REPORT_FILE
    rows = [
        _masked_row(row, masker) for row in _rows(spans, steps, trace_ids, containers, now, marked)
    ]
    said = _Failure.of(failure, masker) if failure is not None else None
    report.write_text(_page(rows, len(steps), said, attachments, now), encoding="utf-8")
    return TraceFiles(trace, report, sum(1 for s in spans if s.service != SMOKE_SERVICE))


@dataclass(frozen=True)
class _Failure:
    """The failure's words for the page, masked."""

    step: str
    failure_class: str
    message: str
    blame: str

    @classmethod
    def of(cls, failure: CheckFailed, masker: Masker) -> _Failure:
        return cls(
            masker(failure.step),
            masker(failure.failure_class),
            masker(str(failure)),
            masker(failure.blame or ""),
        )


def _masked_row(row: _Row, masker: Masker) -> _Row:
    return replace(row, label=masker(row.label), title=masker(row.title))


def _shown(text: str) -> str:
    """Service text as the page shows it: neutralised, each further line marked, then
    escaped for HTML."""
    return html.escape(neutralise(quoted(text)))


def _rows(
    spans: Sequence[Span],
    steps: Sequence[StepResult],
    trace_ids: Mapping[str, str],
    containers: Sequence[ContainerTimes],
    now: float,
    marked: frozenset[str] = frozenset(),
) -> list[_Row]:
    rows: list[_Row] = []
    for c in containers:
        if c.created is None:
            continue
        ready = c.healthy or c.started or c.created
        said = f"created {_clock(c.created)}, started {_clock(c.started)}"
        said += f", healthy {_clock(c.healthy)}" if c.healthy else ""
        rows.append(_Row("container", c.service, c.created, max(ready, c.created), title=said))
    by_parent: dict[str | None, list[Span]] = {}
    for span in sorted(spans, key=lambda s: s.start):
        by_parent.setdefault(span.parent_id, []).append(span)
    for step in steps:
        start = step.finished_at - step.seconds
        rows.append(
            _Row(
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
        under: list[_Row] = []
        for root in roots:
            for child in by_parent.get(root.span_id, []):
                _walk(child, 1, by_parent, under, now, marked=marked)
        rows += under[-MAX_SPAN_ROWS:]
    return rows


def _walk(
    span: Span,
    depth: int,
    by_parent: Mapping[str | None, list[Span]],
    rows: list[_Row],
    now: float,
    *,
    marked: frozenset[str],
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
    failed = span.failed and not retried
    end = span.start + took
    row = _Row("span", label, span.start, end, failed, depth, title, retried and span.failed)
    rows.append(replace(row, selected=span.span_id in marked))
    for child in by_parent.get(span.span_id, []):
        _walk(child, depth + 1, by_parent, rows, now, marked=marked, retried=retried)


def _clock(at: float | None) -> str:
    if at is None:
        return "?"
    return time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}"


_STYLE = """
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; }
.failure { background: #fdecea; padding: .6em; border-left: 4px solid #c62828; }
.failure { white-space: pre-wrap; }
.timeline { border-top: 1px solid #ddd; }
.row { display: flex; align-items: center; border-bottom: 1px solid #f0f0f0; height: 1.5em; }
.label { width: 22em; flex: none; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.lane { position: relative; flex: 1; height: 100%; }
.bar { position: absolute; top: .25em; height: 1em; min-width: 2px; border-radius: 2px; }
.bar.container { background: #90a4ae; } .bar.step { background: #66bb6a; }
.bar.span { background: #64b5f6; } .failed .bar, .bar.failed { background: #e53935; }
.retried .bar { background: #ffb74d; }
.row.failed .label { color: #c62828; font-weight: bold; }
.row.selected { outline: 2px solid #6a1b9a; outline-offset: -2px; }
img { max-width: 100%; border: 1px solid #ccc; margin-top: 1em; }
"""


def _page(
    rows: Sequence[_Row],
    steps: int,
    failure: _Failure | None,
    attachments: Sequence[Path],
    now: float,
) -> str:
    """The page: the run's ``rows`` as a waterfall, from the first to the last."""
    first = min((r.start for r in rows), default=now)
    last = max((r.end for r in rows), default=now)
    width = max(last - first, 1e-3)
    body = [
        f"<h1>contoso-smoke: {'failed' if failure else 'passed'} "
        f"({steps} steps, {width:.2f} s shown)</h1>"
    ]
    if failure is not None:
        body.append(
            f'<p class="failure"><b>{_shown(failure.step)}</b> failed '
            f"({_shown(failure.failure_class)}): {_shown(failure.message)}"
            + (f"<br>{_shown(failure.blame)}" if failure.blame else "")
            + "</p>"
        )
    body.append('<div class="timeline">')
    for row in rows:
        left = (row.start - first) / width * 100
        span_width = max((row.end - row.start) / width * 100, 0.1)
        indent = f' style="padding-left:{row.depth}em"' if row.depth else ""
        classes = f"row {row.kind}" + (" failed" if row.failed else "")
        classes += " retried" if row.retried else ""
        classes += " selected" if row.selected else ""
        body.append(
            f'<div class="{classes}"><span class="label"{indent} title="{_shown(row.label)}">'
            f'{_shown(row.label)}</span><div class="lane">'
            f'<div class="bar {row.kind}" style="left:{left:.3f}%;width:{span_width:.3f}%" '
            f'title="{_shown(row.title)}"></div></div></div>'
        )
    body.append("</div>")
    for path in attachments:
        if path.suffix == ".png":
            data = base64.b64encode(path.read_bytes()).decode()
            body.append(
                "<p>The page when the browser step failed:</p>"
                f'<img alt="screenshot" src="data:image/png;base64,{data}">'
            )
        else:
            name = html.escape(path.name)
            body.append(
                f'<p>Browser trace: <a href="{name}">{name}</a> '
                f"(open offline with <code>playwright show-trace {name}</code>)</p>"
            )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>contoso-smoke run</title>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
