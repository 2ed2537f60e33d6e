"""The trace and timeline files: OTLP JSON, and one self-contained page."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from smoke.errors import ProxyCallFailed
from smoke.masking import Masker
from smoke.outcome import StepResult
from smoke.report.timeline import MAX_SPAN_ROWS, REPORT_FILE, TRACE_FILE, write_trace_files
from smoke.stack.state import ContainerTimes
from smoke.trace.context import RETRIED
from smoke.trace.spans import (
    KIND_CLIENT,
    KIND_INTERNAL,
    KIND_SERVER,
    STATUS_ERROR,
    Event,
    Span,
)

T = "a" * 32


def spans(*extra: Span) -> list[Span]:
    return [
        Span(T, "s", None, "smoke", "web -> chat proxy call", KIND_INTERNAL, 10.0, 11.0),
        Span(
            T,
            "r",
            "s",
            "smoke",
            "POST /api/chat/service",
            KIND_CLIENT,
            10.1,
            10.9,
            STATUS_ERROR,
            attributes={"http.response.status_code": 502},
        ),
        Span(
            T,
            "w",
            "r",
            "web",
            "POST /api/chat/service",
            KIND_SERVER,
            10.2,
            10.8,
            attributes={"http.response.status_code": 502, "secret": "pw-123"},
        ),
        *extra,
    ]


def write(tmp_path: Path, **changes: object) -> tuple[str, dict[str, object]]:
    failure = ProxyCallFailed("web answered HTTP 502", step="web -> chat proxy call")
    failure.blame = "blame: web 502 ← web → chat: connection refused (http://chat:9)"
    arguments: dict[str, object] = {
        "spans": spans(),
        "steps": [
            StepResult("compose up", True, 2.0, finished_at=9.5),
            StepResult("web -> chat proxy call", False, 1.0, failure, finished_at=11.0),
        ],
        "trace_ids": {"web -> chat proxy call": T},
        "containers": [
            ContainerTimes("db", created=7.5, started=7.6, healthy=8.0),
            ContainerTimes("web", created=7.5, started=7.7),
            ContainerTimes("gone", created=None, started=None),
        ],
        "failure": failure,
        "attachments": [],
        "masker": Masker(["pw-123"]),
    }
    arguments.update(changes)
    folder = tmp_path / "out" / "of-this-run"  # made, parents and all
    written = write_trace_files(folder, **arguments)  # type: ignore[arg-type]
    assert written.trace == folder / TRACE_FILE
    assert written.report == folder / REPORT_FILE
    assert written.service_spans == sum(s.service != "smoke" for s in arguments["spans"])  # type: ignore[attr-defined]
    return written.report.read_text(), json.loads(written.trace.read_text())


def test_the_trace_file_is_otlp_json_masked(tmp_path: Path) -> None:
    _, trace = write(tmp_path)
    services = [
        r["resource"]["attributes"][0]["value"]["stringValue"] for r in trace["resourceSpans"]
    ]  # type: ignore[index]
    assert services == ["smoke", "web"]
    assert "pw-123" not in json.dumps(trace)
    assert "****" in json.dumps(trace)


def test_a_note_on_how_to_read_the_page_is_on_it_masked(tmp_path: Path) -> None:
    note = "web's clock is 2.0 s ahead of this machine's (pw-123): its spans are shifted"
    page, _ = write(tmp_path, notes=[note])
    assert (
        '<p class="note">web&#x27;s clock is 2.0 s ahead of this machine&#x27;s (****): '
        "its spans are shifted</p>"
    ) in page


def test_the_page_has_a_bar_per_container_and_step_and_the_spans_under_their_step(
    tmp_path: Path,
) -> None:
    page, _ = write(tmp_path)
    assert page.count('class="bar container"') == 2  # one never created: no bar
    assert page.count('class="bar step"') == 2
    assert page.count('class="bar span"') == 2  # the smoke's request and web's span
    assert 'class="row step failed"' in page
    assert "blame: web 502 ← web → chat: connection refused (http://chat:9)" in page
    assert "<b>web -&gt; chat proxy call</b> failed (web -&gt; chat proxy call non-200)" in page
    assert re.search(
        r'title="created \d\d:\d\d:\d\d\.500, started \d\d:\d\d:\d\d\.600, healthy', page
    )
    assert "pw-123" not in page
    assert "<script" not in page
    assert "default-src 'none'" in page  # nothing fetched, even by accident
    # Times to positions: the run spans 7.5 s to 11.0 s.
    assert 'style="left:0.000%;width:14.286%"' in page  # db: created 7.5, healthy 8.0
    assert 'style="padding-left:2em"' in page  # web's span under the smoke's request


def test_a_passing_run_with_attachments(tmp_path: Path) -> None:
    shot = tmp_path / "e2e-web.png"
    shot.write_bytes(b"\x89PNG")
    zipped = tmp_path / "e2e-browser-trace.zip"
    zipped.write_bytes(b"PK")
    page, _ = write(tmp_path, failure=None, attachments=[shot, zipped])
    assert "contoso-smoke: passed (2 steps" in page
    assert 'class="failure"' not in page
    assert 'src="data:image/png;base64,iVBORw=="' in page
    assert '<a href="e2e-browser-trace.zip">' in page
    assert "playwright show-trace e2e-browser-trace.zip" in page


def test_a_long_wait_shows_its_last_requests_only(tmp_path: Path) -> None:
    polls = [
        Span(T, f"p{i}", "s", "smoke", f"GET /h {i}", KIND_CLIENT, 10.0 + i / 100, None)
        for i in range(MAX_SPAN_ROWS + 5)
    ]
    page, _ = write(tmp_path, spans=spans(*polls))
    assert page.count('class="bar span"') == MAX_SPAN_ROWS
    assert f"GET /h {MAX_SPAN_ROWS + 4}" in page
    assert "GET /h 0<" not in page
    assert "(no answer)" in page


def test_an_empty_run_still_writes_a_page(tmp_path: Path) -> None:
    page, trace = write(tmp_path, spans=[], steps=[], containers=[], failure=None, trace_ids={})
    assert "contoso-smoke: passed (0 steps" in page
    assert trace == {"resourceSpans": []}


def test_a_failed_try_in_a_step_that_passed_is_a_retry_not_a_failure(tmp_path: Path) -> None:
    refused = Span(
        T,
        "x",
        "s",
        "smoke",
        "GET /health",
        KIND_CLIENT,
        10.1,
        10.2,
        STATUS_ERROR,
        "no answer: ConnectError: refused",
        attributes={RETRIED: True},  # its wait tried again
    )
    answered = Span(
        T,
        "y",
        "s",
        "smoke",
        "GET /health",
        KIND_CLIENT,
        10.3,
        10.4,
        attributes={"http.response.status_code": 200},
    )
    root = Span(T, "s", None, "smoke", "chat health", KIND_INTERNAL, 10.0, 10.5)
    page, _ = write(
        tmp_path,
        spans=[root, refused, answered],
        steps=[StepResult("chat health", True, 0.5, finished_at=10.5)],
        trace_ids={"chat health": T},
        failure=None,
    )
    assert page.count('class="row span retried"') == 1
    assert 'class="row span failed"' not in page
    assert 'title="100.0 ms (no answer: ConnectError: refused)"' in page


def test_a_failed_span_nobody_retried_is_a_failure_even_in_a_step_that_passed(
    tmp_path: Path,
) -> None:
    """web turned chat's 500 into its own 200: the 500 is drawn as what it is."""
    root = Span(T, "s", None, "smoke", "web -> chat proxy call", KIND_INTERNAL, 10.0, 10.5)
    call = Span(T, "r", "s", "smoke", "POST /api/chat/service", KIND_CLIENT, 10.1, 10.4)
    swallowed = Span(
        T,
        "c",
        "r",
        "chat",
        "POST /api/chat",
        KIND_SERVER,
        10.2,
        10.3,
        attributes={"http.response.status_code": 500},
    )
    page, _ = write(
        tmp_path,
        spans=[root, call, swallowed],
        steps=[StepResult("web -> chat proxy call", True, 0.5, finished_at=10.5)],
        trace_ids={"web -> chat proxy call": T},
        failure=None,
        marked=frozenset({"c"}),
    )
    assert page.count('class="row span failed selected"') == 1
    assert "retried" not in page.split("<body>")[1]


GOLDEN = Path(__file__).parent / "golden"


def test_both_files_byte_for_byte(tmp_path: Path) -> None:
    """A failed run with a container healthy, a retried poll, spans two deep, its
    screenshot and browser trace: the files as written, kept in tests/unit/golden/
    (SMOKE_UPDATE_GOLDEN=1 rewrites them)."""
    shot = tmp_path / "e2e-web.png"
    shot.write_bytes(b"\x89PNG")
    zipped = tmp_path / "e2e-browser-trace.zip"
    zipped.write_bytes(b"PK")
    poll = Span(
        T,
        "p",
        "s",
        "smoke",
        "GET /health",
        KIND_CLIENT,
        10.05,
        10.08,
        STATUS_ERROR,
        "no answer: ConnectError: refused",
    )
    failure = ProxyCallFailed("web answered HTTP 502", step="web -> chat proxy call")
    failure.blame = "blame: web 502 ← web → chat: connection refused (http://chat:9)"
    written = write_trace_files(
        tmp_path / "out",
        spans=[
            *spans(),
            poll,
            Span("b" * 32, "h", None, "smoke", "chat health", KIND_INTERNAL, 9.5, 10.0),
            Span(
                "b" * 32,
                "q",
                "h",
                "smoke",
                "GET /health",
                KIND_CLIENT,
                9.6,
                9.7,
                STATUS_ERROR,
                "no answer: ConnectError: refused",
                attributes={RETRIED: True},
            ),
            Span(
                T,
                "rt",
                "w",
                "chat",
                "retrieval",
                KIND_INTERNAL,
                10.3,
                10.4,
                attributes={"ok": True, "top_score": 0.5, "tags": ["a", 1], "gone": None},
                events=(Event("exception", 10.35, {"exception.type": "ValueError"}),),
            ),
        ],
        steps=[
            StepResult("compose up", True, 2.0, finished_at=9.5),
            StepResult("chat health", True, 0.5, finished_at=10.0),
            StepResult("web -> chat proxy call", False, 1.0, failure, finished_at=11.0),
        ],
        trace_ids={"web -> chat proxy call": T, "chat health": "b" * 32},
        containers=[
            ContainerTimes("db", created=7.5, started=7.6, healthy=8.0),
            ContainerTimes("web", created=7.5, started=7.7),
        ],
        failure=failure,
        attachments=[shot, zipped],
        masker=Masker(["pw-123"]),
    )
    for path in (written.report, written.trace):
        golden = GOLDEN / path.name
        if os.environ.get("SMOKE_UPDATE_GOLDEN") == "1":
            golden.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        assert path.read_text(encoding="utf-8") == golden.read_text(encoding="utf-8"), path.name


def test_values_are_masked_before_the_files_encode_them(tmp_path: Path) -> None:
    """A secret holding what JSON and HTML escape, and a message that reorders text:
    neither file holds the secret, read raw, JSON-decoded or HTML-unescaped, and the
    page shows the escapes."""
    secret = 'pw"\\&<é>'
    leaky = Span(
        T,
        "x",
        "w",
        "chat",
        f"POST /api/chat {secret}",
        KIND_SERVER,
        10.3,
        10.4,
        STATUS_ERROR,
        f"RuntimeError: {secret}",
        attributes={"db.statement": f"SELECT '{secret}'", "tags": [secret]},
        events=(Event("exception", 10.35, {"exception.message": secret}),),
    )
    failure = ProxyCallFailed(
        f"catalog \u202eindex\u202c corrupt {secret}", step="web -> chat proxy call"
    )
    failure.blame = f"blame: chat 500: \U000e0041\u200b{secret}\nPASS  forged"
    page, trace = write(
        tmp_path, spans=spans(leaky), failure=failure, masker=Masker(["pw-123", secret])
    )
    raw_trace = (tmp_path / "out" / "of-this-run" / TRACE_FILE).read_text()
    for shown in (page, html.unescape(page), raw_trace, json.dumps(trace, ensure_ascii=False)):
        assert secret not in shown
    assert "\u202e" not in page
    assert "\U000e0041" not in page
    assert "\u200b" not in page
    assert r"catalog \u202eindex\u202c corrupt ****" in html.unescape(page)
    assert "\\U000e0041\\u200b****\n│ PASS  forged" in html.unescape(page)


def _golden(path: Path, name: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("SMOKE_UPDATE_GOLDEN") == "1":
        golden.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert path.read_text(encoding="utf-8") == golden.read_text(encoding="utf-8"), name


def test_a_cold_runs_page_folds_the_build_out_of_the_ruler(tmp_path: Path) -> None:
    """A 44 s build, then a warm-sized rest: the build is one row with its time, and
    the ruler starts where it ended, so the other steps keep their width."""
    up = "c" * 32
    written = write_trace_files(
        tmp_path / "out",
        spans=[
            Span(up, "u", None, "smoke", "compose up", KIND_INTERNAL, 100.0, 145.2),
            Span(up, "b", "u", "smoke", "build", KIND_INTERNAL, 100.01, 144.0),
            Span(up, "s", "u", "smoke", "create and start", KIND_INTERNAL, 144.0, 145.2),
            Span("d" * 32, "h", None, "smoke", "chat health", KIND_INTERNAL, 145.2, 145.6),
        ],
        steps=[
            StepResult("compose up", True, 45.2, finished_at=145.2),
            StepResult("chat health", True, 0.4, finished_at=145.6),
            StepResult("teardown", True, 0.5, finished_at=146.1),
        ],
        trace_ids={"compose up": up, "chat health": "d" * 32},
        containers=[
            ContainerTimes("db", created=144.1, started=144.3, healthy=145.0),
            ContainerTimes("chat", created=144.1, started=144.4),
        ],
        failure=None,
        attachments=[],
        masker=Masker([]),
    )
    page = written.report.read_text()
    assert "(3 steps, 2.10 s shown after a 43.99 s build)</h1>" in page
    assert "the ruler starts when it ended" in page
    build = re.search(
        r'<div class="row span clipped">.*?>smoke build<.*?</div></div>.*?</span>', page
    )
    assert build is not None
    assert '<span class="took">43.99 s</span>' in build.group(0)
    _golden(written.report, "e2e-report-cold.html")


def test_a_passing_full_runs_page_has_no_error_span(tmp_path: Path) -> None:
    page_trace, chat_trace = "e" * 32, "f" * 32
    written = write_trace_files(
        tmp_path / "out",
        spans=[
            Span(chat_trace, "h", None, "smoke", "chat health", KIND_INTERNAL, 10.0, 10.3),
            Span(
                chat_trace,
                "t1",
                "h",
                "smoke",
                "GET /health",
                KIND_CLIENT,
                10.0,
                10.01,
                STATUS_ERROR,
                "no answer: ConnectError: refused",
                attributes={RETRIED: True},
            ),
            Span(chat_trace, "t2", "h", "smoke", "GET /health", KIND_CLIENT, 10.2, 10.25),
            Span(page_trace, "p", None, "smoke", "web page (browser)", KIND_INTERNAL, 11.0, 11.3),
            Span(page_trace, "bp", "p", "smoke", "browser page", KIND_CLIENT, 11.01, 11.29),
            Span(page_trace, "ws", "bp", "web", "POST /api/chat/service", KIND_SERVER, 11.1, 11.2),
            Span(page_trace, "cs", "ws", "chat", "POST /api/chat", KIND_SERVER, 11.12, 11.18),
        ],
        steps=[
            StepResult("compose up", True, 1.0, finished_at=10.0),
            StepResult("chat health", True, 0.3, finished_at=10.3),
            StepResult("web page (browser)", True, 0.3, finished_at=11.3),
            StepResult("teardown", True, 0.5, finished_at=11.8),
        ],
        trace_ids={"chat health": chat_trace, "web page (browser)": page_trace},
        containers=[ContainerTimes("web", created=9.1, started=9.3, healthy=9.9)],
        failure=None,
        attachments=[],
        masker=Masker([]),
    )
    page = written.report.read_text()
    assert "contoso-smoke: passed" in page
    assert 'class="failure"' not in page
    assert "row span failed" not in page  # the retried try is a retry, not an error
    assert page.count("row span retried") == 1
    _golden(written.report, "e2e-report-full.html")


def test_a_failure_without_a_blame_shows_why_the_trace_says_nothing(tmp_path: Path) -> None:
    failure = ProxyCallFailed("web answered HTTP 502", step="web -> chat proxy call")
    failure.no_trace = "no trace: web sent no span all run (tracing off there?)"
    page, _ = write(tmp_path, failure=failure)
    box = page.split('<p class="failure">', 1)[1].split("</p>", 1)[0]
    assert "web answered HTTP 502" in box
    assert "no trace: web sent no span all run (tracing off there?)" in html.unescape(box)


def test_a_waits_tries_fold_into_one_row_saying_the_first_and_the_last() -> None:
    from smoke.report.page import Row
    from smoke.report.timeline import _fold
    from smoke.trace.context import RETRIED
    from smoke.trace.spans import KIND_CLIENT, STATUS_ERROR, Span

    def attempt(i: int, status: int, *, retried: bool) -> Span:
        return Span(
            "t" * 32,
            f"a{i}",
            "s",
            "smoke",
            "GET /health",
            KIND_CLIENT,
            10.0 + i,
            10.5 + i,
            STATUS_ERROR if status >= 500 else 0,
            attributes={
                "http.response.status_code": status,
                **({RETRIED: True} if retried else {}),
            },
        )

    tries = [
        attempt(0, 503, retried=True),
        attempt(1, 502, retried=True),
        attempt(2, 200, retried=False),
    ]
    assert _fold(tries, now=20.0) == Row(
        "fold",
        "smoke GET /health ×3",
        10.0,
        12.5,
        failed=False,
        depth=1,
        title="3 tries, 2.5 s, first 503, last 200",
        retried=False,
        service="smoke",
    )
    gave_up = [*tries[:2], attempt(2, 504, retried=False)]  # the last try failed for good
    assert (_fold(gave_up, now=20.0).failed, _fold(gave_up, now=20.0).retried) == (True, False)
    still_retried = tries[:2]  # the wait's last try so far, itself marked
    assert (_fold(still_retried, 20.0).failed, _fold(still_retried, 20.0).retried) == (False, True)


def test_a_span_is_said_by_its_status_its_errors_name_or_ok() -> None:
    from smoke.report.timeline import _said
    from smoke.trace.spans import KIND_CLIENT, STATUS_ERROR, Span

    def span(status: int = 0, message: str = "", *, failed: bool = False) -> Span:
        attributes = {"http.response.status_code": status} if status else {}
        code = STATUS_ERROR if failed else 0
        return Span(
            "t" * 32,
            "x",
            None,
            "chat",
            "q",
            KIND_CLIENT,
            1.0,
            2.0,
            code,
            message,
            attributes=attributes,
        )

    assert _said(span(404, failed=True)) == "404"
    assert _said(span(200)) == "200"
    assert _said(span(message="ConnectError: refused", failed=True)) == "ConnectError"
    assert _said(span(failed=True)) == "ok"
    assert _said(span(message="ignored")) == "ok"


def test_the_critical_path_follows_a_failed_child_before_a_longer_one() -> None:
    from smoke.report.timeline import _critical_path
    from smoke.trace.spans import KIND_CLIENT, KIND_SERVER, STATUS_ERROR, Span

    def span(span_id: str, parent: str | None, took: float, *, failed: bool = False) -> Span:
        return Span(
            "t" * 32,
            span_id,
            parent,
            "chat",
            span_id,
            KIND_SERVER if parent else KIND_CLIENT,
            1.0,
            1.0 + took,
            STATUS_ERROR if failed else 0,
        )

    request = span("r", None, 3.0, failed=True)
    children = [span("long", "r", 2.0), span("short", "r", 0.5, failed=True), span("mid", "r", 1.0)]
    under = [span("slow", "mid", 0.9), span("quick", "mid", 0.1)]
    by_parent = {"r": children, "mid": under}
    assert _critical_path([request], by_parent, now=9.0) == {"r", "short"}
    children[1] = span("short", "r", 0.5)  # nothing failed: the longest, then its longest
    by_parent = {"r": [*children, span("longer", "r", 2.5)], "longer": under}
    assert _critical_path([span("r", None, 3.0)], by_parent, now=9.0) == {"r", "longer", "slow"}
    assert _critical_path([], by_parent, now=9.0) == set()
