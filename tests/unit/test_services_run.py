"""A team's extra services inside a run: a step line each after `up`, a failing job
named when `up` stops for it, in the smoke and in the fuzzer."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from smoke.errors import InitJobFailed, ServiceCrashed
from smoke.report.console import Console
from tests.unit.fakes import (
    FakeDocker,
    FakeServices,
    FakeState,
    Terminal,
    docker_error,
    run_options,
    stack,
)


def team_stack(*, running: bool = False) -> FakeDocker:
    docker = FakeDocker(running=running)
    model = docker.fixed_model()
    model["services"]["migrate"] = {"image": "db-image"}
    model["services"]["chat"]["depends_on"] = {
        "migrate": {"condition": "service_completed_successfully"}
    }
    model["services"]["cache"] = {"healthcheck": {"test": ["CMD", "true"]}}
    model["services"]["worker"] = {}
    docker.states["migrate"] = FakeState("exited", 0)
    docker.states["cache"] = FakeState(health="healthy")
    docker.states["worker"] = FakeState()
    return docker


def smoke(tmp_path: Path, docker: FakeDocker) -> tuple[str, BaseException | None]:
    from smoke.run import run_smoke

    out = Terminal()
    try:
        run_smoke(
            run_options(log_file=tmp_path / "e2e.log"),
            console=Console(out, tty=False),
            stack=stack(docker),
            transport=FakeServices().transport(),
        )
    except BaseException as exc:  # what escaped is what the test looks at
        return out.getvalue(), exc
    return out.getvalue(), None


def step(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if f"✓ {name} " in line)


def test_each_extra_service_is_a_step_right_after_up(tmp_path: Path) -> None:
    output, error = smoke(tmp_path, team_stack())
    assert error is None, output
    lines = [line.strip() for line in output.splitlines()]
    names = [line.split("  ")[0] for line in lines if line.startswith("✓")]
    assert names[:5] == [
        "✓ compose up",
        "✓ job migrate",
        "✓ service cache",
        "✓ service worker",
        "✓ chat health",
    ]
    assert step(output, "job migrate").split()[-3:-1] == ["0", "after"]
    assert "healthy after" in step(output, "service cache")
    assert "running after" in step(output, "service worker")


def test_a_service_that_crashed_fails_its_step(tmp_path: Path) -> None:
    docker = team_stack()
    docker.states["worker"] = FakeState("exited", 3)
    output, error = smoke(tmp_path, docker)
    assert isinstance(error, ServiceCrashed), output
    assert "✗ service worker" in output
    assert error.services == ("worker",)


def test_a_job_that_stopped_up_is_named_in_the_smoke(tmp_path: Path) -> None:
    docker = team_stack(running=True)  # `up` started db and the job before it stopped
    docker.states["migrate"] = FakeState("exited", 1)
    docker.fail["compose up"] = docker_error("compose up", 1, "service migrate didn't complete")
    output, error = smoke(tmp_path, docker)
    assert isinstance(error, InitJobFailed), output
    assert str(error) == "job migrate exited with code 1, so compose up stopped"
    assert error.services == ("migrate",)
    assert "failure class: init job failed" in output


def test_a_failed_up_without_a_failed_job_stays_a_compose_failure(tmp_path: Path) -> None:
    docker = team_stack()
    docker.fail["compose up"] = docker_error("compose up", 1, "no space left on device")
    output, error = smoke(tmp_path, docker)
    assert type(error).__name__ == "ComposeFailed", output


def test_a_job_that_stopped_up_is_named_in_the_fuzzer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smoke.checks import schemathesis
    from smoke.fuzz import fuzz
    from smoke.options import FuzzOptions, StackSettings
    from smoke.stack.target import Target

    monkeypatch.setattr(schemathesis.importlib.util, "find_spec", lambda name: object())
    docker = team_stack(running=True)
    docker.states["migrate"] = FakeState("exited", 2)
    docker.fail["compose up"] = docker_error("compose up", 1, "service migrate didn't complete")
    settings = StackSettings(Target("p", (Path("docker-compose.yml"),)), tmp_path / "l", 2.0)
    options = FuzzOptions(settings, chat_url=None, max_examples=1, junit_xml=None)
    asked: list[Any] = []
    real_up = docker.compose.up

    def up(*args: Any, **kwargs: Any) -> Any:
        asked.append((args, kwargs))
        return real_up(*args, **kwargs)

    docker.compose.up = up
    with pytest.raises(InitJobFailed, match="job migrate exited with code 2"):
        fuzz(options, console=Console(io.StringIO(), tty=False), stack=stack(docker))
    (args, _), *_ = asked
    assert args[0] == ["db", "chat"]  # db and chat (and what they wait for) only
