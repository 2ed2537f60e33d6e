"""What a build is doing, read from compose's plain build output."""

from __future__ import annotations

from smoke.stack.building import WHAT_CHARS, build_step, follow_build


def test_a_build_step_names_its_service_step_stage_and_instruction() -> None:
    line = "#9 [chat stage-2 2/7] RUN --mount=type=secret,id=build_ca     set -eu;"
    assert build_step(line) == (
        "building chat: step 2/7 of stage-2, RUN --mount=type=secret,id=build_ca set -eu;"
    )
    assert build_step("#5 [web 1/6] FROM docker.io/library/python:3.12-slim\n") == (
        "building web: step 1/6, FROM docker.io/library/python:3.12-slim"
    )


def test_a_long_instruction_is_cut_and_other_lines_say_nothing() -> None:
    said = build_step("#9 [web stage-1 3/7] RUN " + "x" * 200)
    assert said is not None
    assert said.endswith("…")
    assert len(said.split(", ", 1)[1]) == WHAT_CHARS
    for line in ("#9 DONE 0.7s", "#1 [web internal] load build definition", "#9 0.3 Resolved", ""):
        assert build_step(line) is None


def test_following_a_build_says_each_step_it_starts_in_order() -> None:
    said: list[str] = []
    follow_build(
        [
            ("stderr", b"#1 [internal] load .dockerignore\n"),
            ("stderr", b"#6 [web uv 2/3] COPY tools/requirements-uv.lock /tmp/\n"),
            ("stdout", b"#7 [web stage-1 2/4] RUN uv pip install \xff\n"),
        ],
        said.append,
    )
    assert said == [
        "building web: step 2/3 of uv, COPY tools/requirements-uv.lock /tmp/",
        "building web: step 2/4 of stage-1, RUN uv pip install \ufffd",
    ]
