"""The report page's parts: the ruler's ticks, durations as text, a colour per service
with its legend, a wait's tries folded into one row that opens in place."""

from __future__ import annotations

import re

from smoke.report.page import PALETTE, Row, page, ticks, took


def test_ticks_are_round_and_at_most_ten_intervals() -> None:
    assert ticks(3.2) == [0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert ticks(0.3) == [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    assert ticks(100.0) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert all(len(ticks(w)) <= 11 for w in (0.001, 0.7, 7, 70, 700, 7000))


def test_durations_read_as_a_person_says_them() -> None:
    assert took(0.0004) == "<1 ms"
    assert took(0.0123) == "12 ms"
    assert took(2.345) == "2.35 s"


def test_a_colour_per_service_in_a_legend_and_the_rows_painted_with_it() -> None:
    rows = [
        Row("step", "chat health", 0.0, 1.0),
        Row("span", "smoke GET /health", 0.1, 0.2, depth=1, service="smoke"),
        Row("span", "chat GET /health", 0.12, 0.18, depth=2, service="chat"),
        Row("span", "chat GET /health", 0.3, 0.4, depth=2, service="chat", failed=True),
    ]
    text = page(rows, 1, None, [], 1.0)
    legend = re.search(r'<div class="legend">(.*?)</div>', text)
    assert legend is not None
    assert re.findall(r'background:(#\w+)"></span>(\w+)', legend[1]) == [
        (PALETTE[0], "smoke"),
        (PALETTE[1], "chat"),
    ]
    assert text.count(f"background:{PALETTE[1]}") == 2  # the legend and chat's good span
    assert '<span class="took">100 ms</span>' in text
    assert text.count('class="tick"') == len(ticks(1.0))
    assert "(1 step, 1.00 s shown)" in text


def test_folded_rows_open_in_place_and_the_rest_follow_outside() -> None:
    rows = [
        Row("step", "chat health", 0.0, 2.0),
        Row("fold", "smoke GET /health ×3", 0.0, 1.9, depth=1, title="3 tries", service="smoke"),
        *(
            Row("span", "smoke GET /health", t, t + 0.1, depth=2, service="smoke", folded=True)
            for t in (0.0, 0.9, 1.8)
        ),
        Row("step", "chat dependency health (db)", 2.0, 2.5),
    ]
    text = page(rows, 2, None, [], 2.5)
    inside = re.search(r'<details class="fold"><summary>(.*?)</summary>(.*?)</details>', text, re.S)
    assert inside is not None
    assert "smoke GET /health ×3" in inside[1]
    assert inside[2].count('class="row span"') == 3
    assert "chat dependency health (db)" in text.split("</details>")[1]
    assert "<script" not in text
