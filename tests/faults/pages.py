"""Web's own page with one thing broken, for the browser fault tests. Made from
web/contoso_web/index.html at test time, so the faults follow the real page."""

from __future__ import annotations

from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "web" / "contoso_web" / "index.html"

# fault -> (what the real page says, what the broken page says instead)
BREAKS = {
    # A script error at load: the submit handler is never attached.
    "script-throws": (
        "<script>\n",
        "<script>\nwindow.contosoConfig.apiBase.trim();\n",
    ),
    # The question goes to a path web does not serve.
    "wrong-fetch-path": ('fetch("/api/chat/service"', 'fetch("/api/chat/servise"'),
    # The answer is read under a field chat does not send.
    "renamed-field": ("out.append(data.answer || data.response);", "out.append(data.reply);"),
}


def broken_page(fault: str, folder: Path) -> Path:
    """Write web's page with ``fault`` into ``folder``; return its path."""
    real, broken = BREAKS[fault]
    text = PAGE.read_text("utf-8")
    if text.count(real) != 1:
        raise ValueError(f"web's page no longer holds {real!r} once: update tests/faults/pages.py")
    path = folder / f"{fault}.html"
    path.write_text(text.replace(real, broken), "utf-8")
    return path
