"""build, logs and teardown as a user sees them, docker faked."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoke import clock
from smoke.commands import build_images, teardown_stack, write_stack_logs
from smoke.errors import ComposeFailed, NoStackRunning
from smoke.options import BuildOptions, LogsOptions, TeardownOptions
from smoke.report.console import Console
from smoke.stack.target import Target
from tests.unit.fakes import PASSWORD, FakeDocker, FakeImage, Terminal, docker_error, stack

TARGET = Target("p", (Path("docker-compose.yml"),))


@pytest.mark.parametrize(
    ("local", "chat", "flavour", "chat_size"),
    [
        (False, "p-chat:lite", "minimal stack", "123.0 MB"),
        (True, "p-chat:local", "local embedding stack", "345.0 MB"),
    ],
)
def test_build_names_the_images_it_built_and_their_sizes(
    local: bool, chat: str, flavour: str, chat_size: str
) -> None:
    out = Terminal()
    build_images(
        BuildOptions(TARGET, local), console=Console(out, tty=False), stack=stack(FakeDocker())
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == f"build: {chat} and p-web:latest (chat: {flavour})"
    assert lines[1].startswith("  ✓ build")
    assert lines[2].split() == [chat, *chat_size.split()]
    assert lines[3].split() == ["p-web:latest", "111.0", "MB"]


def test_a_big_image_is_in_gb_and_a_missing_one_said() -> None:
    docker = FakeDocker()
    docker.images["p-chat:lite"] = FakeImage(2_345_000_000, "p", "chat")
    del docker.images["p-web:latest"]
    out = Terminal()
    build_images(BuildOptions(TARGET, False), console=Console(out, tty=False), stack=stack(docker))
    assert out.getvalue().splitlines()[2].split() == ["p-chat:lite", "2.35", "GB"]
    assert out.getvalue().splitlines()[3].split() == ["p-web:latest", "size", "unknown"]


def test_a_build_removes_the_images_it_replaced() -> None:
    docker = FakeDocker(dangling={"sha256:old": "p", "sha256:other": "q"})
    build_images(
        BuildOptions(TARGET, False), console=Console(Terminal(), tty=False), stack=stack(docker)
    )
    assert docker.dangling == {"sha256:other": "q"}
    assert docker.calls.index("image list") > docker.calls.index("compose build")


def test_a_failed_build_shows_composes_last_words() -> None:
    docker = FakeDocker()
    docker.fail["compose build"] = docker_error(
        "compose build", 1, "\n".join(f"step {i}" for i in range(30))
    )
    out = Terminal()
    with pytest.raises(ComposeFailed):
        build_images(
            BuildOptions(TARGET, False), console=Console(out, tty=False), stack=stack(docker)
        )
    text = out.getvalue()
    assert "✗ build" in text
    assert "build failed (exit 1)" in text
    assert "step 29" in text
    assert "step 14" not in text  # the last 15 lines


def test_logs_of_a_kept_stack_are_written_masked(tmp_path: Path) -> None:
    out = Terminal()
    target = tmp_path / "deep" / "e2e.log"
    write_stack_logs(
        LogsOptions(TARGET, target),
        console=Console(out, tty=False),
        stack=stack(FakeDocker(running=True)),
    )
    text = target.read_text()
    assert PASSWORD not in text
    assert "db-1" in text
    assert out.getvalue() == f"logs: wrote 3 lines from 3 containers of project p to {target}\n"


def test_logs_without_a_stack_is_no_stack_running(tmp_path: Path) -> None:
    with pytest.raises(NoStackRunning):
        write_stack_logs(
            LogsOptions(TARGET, tmp_path / "x.log"),
            console=Console(Terminal(), tty=False),
            stack=stack(FakeDocker()),
        )
    assert not (tmp_path / "x.log").exists()


def test_teardown_says_what_it_removed_clears_marks_and_is_idempotent() -> None:
    docker = FakeDocker(running=True)
    docker.volumes["p_smoke-run"] = {"io.contoso-smoke.run": "p"}
    out = Terminal()
    teardown_stack(TeardownOptions(TARGET), console=Console(out, tty=False), stack=stack(docker))
    teardown_stack(TeardownOptions(TARGET), console=Console(out, tty=False), stack=stack(docker))
    assert out.getvalue().splitlines() == [
        "teardown: removed 3 containers (p-chat-1, p-db-1, p-web-1), 1 network (p_default) "
        "and the run mark (p_smoke-run) of project p",
        "teardown: nothing to remove for project p",
    ]
    assert docker.volumes == {}


def test_teardown_with_images_removes_this_projects_images_only() -> None:
    docker = FakeDocker(running=True, dangling={"sha256:other": "q"})
    docker.images["q-web:latest"] = FakeImage(1, "q", "web")
    out = Terminal()
    options = TeardownOptions(TARGET, images=True)
    teardown_stack(options, console=Console(out, tty=False), stack=stack(docker))
    teardown_stack(options, console=Console(out, tty=False), stack=stack(docker))
    # One sentence for all that went, then one for nothing left.
    assert out.getvalue().splitlines() == [
        "teardown: removed 3 containers (p-chat-1, p-db-1, p-web-1), 1 network (p_default) "
        "and 3 images (p-chat:lite, p-chat:local, p-web:latest) of project p",
        "teardown: nothing to remove for project p (no stack, no images)",
    ]
    assert list(docker.images) == ["q-web:latest"]
    assert docker.dangling == {"sha256:other": "q"}
    # Containers first: an image a container runs cannot go.
    assert docker.calls.index("image remove") > docker.calls.index("container remove")


def test_a_build_is_timed_builds_the_stack_asked_for_and_quotes_compose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    import smoke.report.console

    monkeypatch.setattr(smoke.report.console, "_TICK_SECONDS", 0.01)
    tags: list[str | None] = []
    docker = FakeDocker()
    docker.compose.build = lambda **kw: (
        tags.append(docker.env.get("CHAT_IMAGE_TAG")),
        clock.sleep(0.05),
    )
    out = Terminal()
    build_images(BuildOptions(TARGET, True), console=Console(out, tty=True), stack=stack(docker))
    assert tags == ["local"]
    assert "\r  ⠋ build " in out.getvalue()
    done = next(line for line in out.getvalue().splitlines() if "✓" in line)
    assert 0.05 <= float(done.split()[-1].rstrip("s")) < 5
    failing = FakeDocker()
    failing.fail["compose build"] = docker_error("compose build", 1, "one\ntwo")
    out = Terminal()
    with pytest.raises(ComposeFailed):
        build_images(
            BuildOptions(TARGET, False), console=Console(out, tty=False), stack=stack(failing)
        )
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("  ✗ build")
    assert 0 <= float(lines[1].split()[-1].rstrip("s")) < 5
    assert lines[-3:] == ["    compose said:", "      one", "      two"]


def test_teardown_counts_a_single_image_as_one() -> None:
    docker = FakeDocker(running=False)
    del docker.images["p-chat:local"], docker.images["p-web:latest"]
    out = Terminal()
    teardown_stack(TeardownOptions(TARGET, images=True), console=Console(out), stack=stack(docker))
    assert out.getvalue().splitlines()[-1] == (
        "teardown: removed 1 image (p-chat:lite) of project p"
    )
