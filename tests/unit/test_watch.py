"""What web's page does that a person would hit, as the browser step watches it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from smoke.checks.watch import Watch
from smoke.errors import BrowserCheckFailed
from tests.unit.test_browser import FakePage, response


@pytest.mark.parametrize(("status", "fails"), [(399, False), (400, True)])
def test_a_response_fails_from_400(status: int, fails: bool) -> None:
    page = FakePage()
    watch = Watch(page)
    page.emit("response", response("http://w/favicon.ico", status))
    assert bool(watch.problems) is fails


def test_the_first_problem_is_the_one_said_and_a_new_try_starts_clean() -> None:
    page = FakePage()
    watch = Watch(page)
    watch.check()  # nothing seen: fine
    page.emit("console", SimpleNamespace(type="log", text="hello"))
    page.emit("console", SimpleNamespace(type="error", text="first"))
    page.emit("requestfailed", SimpleNamespace(method="GET", url="http://w/x", failure=None))
    page.emit("response", response("http://w/api/chat/service", 200, {"answer": "a"}))
    assert watch.problems == [
        "console.error: first",
        "request failed: GET http://w/x (no reason)",
    ]
    assert len(watch.answers) == 1
    with pytest.raises(BrowserCheckFailed, match=r"^console\.error: first$"):
        watch.check()
    watch.forget()
    assert watch.problems == []
    assert watch.answers == []


def test_a_crashed_renderer_is_remembered() -> None:
    page = FakePage()
    watch = Watch(page)
    assert not watch.crashed
    page.emit("crash", page)
    assert watch.crashed
