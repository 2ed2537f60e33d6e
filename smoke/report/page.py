"""`e2e-report.html`: the run's rows as one static page, readable at a glance (after
Jaeger's trace view and Playwright's trace viewer), that opens offline: no script, no
fetch, a Content Security Policy that forbids both.

    a time ruler      ticks at round seconds across the run
    a row a thing     containers, steps, each request's spans under its step; each
                      row's duration as text beside its bar
    a colour each     per service, from a fixed palette, with a legend; failures red,
                      a wait's retried tries amber
    folded waits      a wait's tries as one row ("18 tries, 2.1 s, first 503, last
                      200") that opens in place (<details>)
    the failure       its words in a box; the failing request's critical path and the
                      spans a broken trace spec selected outlined
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from smoke.masking import neutralise, quoted
from smoke.words import counted

#: Colours by order of a service's first row: the smoke, web, chat, db, then others.
PALETTE = ("#64b5f6", "#81c784", "#ba68c8", "#4db6ac", "#f06292", "#a1887f", "#7986cb")
_TICK_STEPS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200)
_MAX_TICKS = 10
#: A build this long, and longer than the rest of the run, is left out of the ruler.
COLLAPSE_AT_SECONDS = 10.0


@dataclass(frozen=True)
class Row:
    kind: str  # container, step, span, fold
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
    service: str = ""
    #: On the failing request's critical path.
    critical: bool = False
    #: Inside the fold above it (a wait's tries, shown when it is opened).
    folded: bool = False
    #: The build: left out of the ruler when it dwarfs the rest of the run.
    collapsible: bool = False


@dataclass(frozen=True)
class Failure:
    """The failure's words for the page, masked."""

    step: str
    failure_class: str
    message: str
    blame: str


def shown(text: str) -> str:
    """Service text as the page shows it: neutralised, each further line marked, then
    escaped for HTML."""
    return html.escape(neutralise(quoted(text)))


def took(seconds: float) -> str:
    if seconds < 0.001:
        return "<1 ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def ticks(width: float) -> list[float]:
    """Round offsets from the start, at most ``_MAX_TICKS`` of them."""
    step = next((s for s in _TICK_STEPS if width / s <= _MAX_TICKS), _TICK_STEPS[-1])
    return [round(i * step, 6) for i in range(math.floor(width / step + 1e-9) + 1)]


_STYLE = """
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; }
.failure { background: #fdecea; padding: .6em; border-left: 4px solid #c62828; }
.failure { white-space: pre-wrap; }
.legend { margin: .5em 0; } .legend span { margin-right: 1.2em; white-space: nowrap; }
.swatch { display: inline-block; width: .9em; height: .9em; border-radius: 2px;
  vertical-align: -.1em; margin-right: .3em; }
.timeline { border-top: 1px solid #ddd; }
.row { display: flex; align-items: center; border-bottom: 1px solid #f0f0f0; height: 1.5em; }
.label { width: 22em; flex: none; overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
  box-sizing: border-box; }  /* indented or not, every lane starts at one x */
.lane { position: relative; flex: 1; height: 100%; }
.took { width: 5.5em; flex: none; text-align: right; color: #555; }
.took { font-variant-numeric: tabular-nums; }
.bar { position: absolute; top: .25em; height: 1em; min-width: 2px; border-radius: 2px; }
.bar.container { background: #b0bec5; } .bar.step { background: #546e7a; }
.failed .bar, .bar.failed { background: #e53935; }
.retried .bar { background: #ffb74d; }
.row.failed .label { color: #c62828; font-weight: bold; }
.row.critical { border-left: 4px solid #c62828; }
.row.selected { outline: 2px solid #6a1b9a; outline-offset: -2px; }
.ruler { color: #777; border-bottom: 1px solid #ccc; }
.ruler .tick { font-size: 12px; }  /* the row's own size: its label column stays aligned */
.tick { position: absolute; top: 0; border-left: 1px solid #ccc; padding-left: 2px; height: 100%;
  white-space: nowrap; }
details.fold > summary { list-style: none; cursor: pointer; }
details.fold > summary::-webkit-details-marker { display: none; }
details.fold > summary .label::before { content: "▸ "; }
details.fold[open] > summary .label::before { content: "▾ "; }
img { max-width: 100%; border: 1px solid #ccc; margin-top: 1em; }
.note { color: #555; font-size: 13px; }
.clipped .bar { border-left: 3px dashed #222; }
"""


def page(
    rows: Sequence[Row],
    steps: int,
    failure: Failure | None,
    attachments: Sequence[Path],
    now: float,
    notes: Sequence[str] = (),
) -> str:
    """The page: the run's ``rows`` as a waterfall, from the first to the last, with
    ``notes`` on how to read it (a service's clock that was off)."""
    first = min((r.start for r in rows), default=now)
    last = max((r.end for r in rows), default=now)
    build = _dwarfing(rows, last - first)
    if build is not None:  # the ruler starts where the build ended
        first = build.end
    width = max(last - first, 1e-3)
    services = list(dict.fromkeys(r.service for r in rows if r.service))
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(services)}
    after = f" after a {took(build.end - build.start)} build" if build is not None else ""
    body = [
        f"<h1>contoso-smoke: {'failed' if failure else 'passed'} "
        f"({counted(steps, 'step')}, {width:.2f} s shown{after})</h1>"
    ]
    if failure is not None:
        body.append(
            f'<p class="failure"><b>{shown(failure.step)}</b> failed '
            f"({shown(failure.failure_class)}): {shown(failure.message)}"
            + (f"<br>{shown(failure.blame)}" if failure.blame else "")
            + "</p>"
        )
    if services:
        swatches = "".join(
            f'<span><span class="swatch" style="background:{colour[name]}"></span>'
            f"{shown(name)}</span>"
            for name in services
        )
        body.append(f'<div class="legend">{swatches}</div>')
    body += [f'<p class="note">{shown(note)}</p>' for note in notes]
    if build is not None:
        body.append(
            f'<p class="note">The build took {took(build.end - build.start)}: the ruler '
            "starts when it ended, so the other steps keep their width. Its row, and the "
            "rows it began in, are drawn from the ruler's start and keep their whole time "
            "on the right.</p>"
        )
    body += _timeline(rows, first, width, colour)
    body += _attached(attachments)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>contoso-smoke run</title>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _timeline(rows: Sequence[Row], first: float, width: float, colour: dict[str, str]) -> list[str]:
    """The ruler, then a row per step, request and container; a fold's rows inside
    its ``<details>``."""
    marks = "".join(
        f'<span class="tick" style="left:{at / width * 100:.3f}%">{at:g} s</span>'
        for at in ticks(width)
    )
    body = [
        '<div class="timeline">',
        f'<div class="row ruler"><span class="label"></span><div class="lane">{marks}</div>'
        '<span class="took"></span></div>',
    ]
    folding = False
    for row in rows:
        if folding and not row.folded:
            body.append("</details>")
            folding = False
        line = _row(row, first, width, colour.get(row.service))
        if row.kind == "fold":
            body.append(f'<details class="fold"><summary>{line}</summary>')
            folding = True
        else:
            body.append(line)
    if folding:
        body.append("</details>")
    body.append("</div>")
    return body


def _dwarfing(rows: Sequence[Row], run: float) -> Row | None:
    """The build, when it is long and more than half of the run."""
    for row in rows:
        took_seconds = row.end - row.start
        if row.collapsible and took_seconds >= COLLAPSE_AT_SECONDS and took_seconds > run / 2:
            return row
    return None


def _row(row: Row, first: float, width: float, colour: str | None) -> str:
    shown_from = max(row.start, first)  # a row that began before the ruler: from its start
    left = (shown_from - first) / width * 100
    span_width = max((row.end - shown_from) / width * 100, 0.1)
    indent = f' style="padding-left:{row.depth}em"' if row.depth else ""
    classes = f"row {row.kind}" + (" failed" if row.failed else "")
    classes += " retried" if row.retried else ""
    classes += " critical" if row.critical else ""
    classes += " selected" if row.selected else ""
    classes += " clipped" if row.start < first else ""
    painted = f";background:{colour}" if colour and not (row.failed or row.retried) else ""
    return (
        f'<div class="{classes}"><span class="label"{indent} title="{shown(row.label)}">'
        f'{shown(row.label)}</span><div class="lane">'
        f'<div class="bar {row.kind}" style="left:{left:.3f}%;width:{span_width:.3f}%{painted}" '
        f'title="{shown(row.title)}"></div></div>'
        f'<span class="took">{took(row.end - row.start)}</span></div>'
    )


def _attached(attachments: Sequence[Path]) -> list[str]:
    shown_files = []
    for path in attachments:
        if path.suffix == ".png":
            data = base64.b64encode(path.read_bytes()).decode()
            shown_files.append(
                "<p>The page when the browser step failed:</p>"
                f'<img alt="screenshot" src="data:image/png;base64,{data}">'
            )
        else:
            name = html.escape(path.name)
            shown_files.append(
                f'<p>Browser trace: <a href="{name}">{name}</a> '
                f"(open offline with <code>playwright show-trace {name}</code>)</p>"
            )
    return shown_files
