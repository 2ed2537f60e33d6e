"""The run mark: a volume per project, created once, listed, removed."""

from __future__ import annotations

from smoke.stack import marks
from tests.unit.fakes import FakeDocker, run_marks, stack


def test_marks_are_created_listed_and_removed() -> None:
    docker = FakeDocker()
    s = stack(docker)
    assert marks.claim_mark(s, {"io.contoso-smoke.run": "p", "x": "1"}) == {
        "io.contoso-smoke.run": "p",
        "x": "1",
    }
    # The engine keeps the first creator's labels: the second claim reads them back.
    assert marks.claim_mark(s, {"io.contoso-smoke.run": "p", "x": "2"})["x"] == "1"
    assert run_marks(docker) == [{"io.contoso-smoke.run": "p", "x": "1"}]
    marks.remove_mark(s)
    marks.remove_mark(s)  # already gone: fine
    assert run_marks(docker) == []
    marks.claim_mark(s, {"io.contoso-smoke.run": "p"})
    marks.unmark(s)
    assert run_marks(docker) == []
    marks.unmark(s)  # nothing to remove: fine
