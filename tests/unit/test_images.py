"""A project's images as the smoke names, checks and removes them, docker faked."""

from __future__ import annotations

import pytest

from smoke.errors import ImageNotOwned, ImagesMissing
from tests.unit.fakes import FakeDocker, FakeImage, stack


def test_built_images_are_the_projects_own_and_the_local_chat_has_its_tag() -> None:
    docker = FakeDocker()
    assert stack(docker).images.built() == {"chat": "p-chat:lite", "web": "p-web:latest"}
    local = stack(docker).images.built(install_local_stack=True)
    assert local == {"chat": "p-chat:local", "web": "p-web:latest"}
    assert stack(docker).images.size("chat", install_local_stack=True) == 345_000_000
    del docker.images["p-web:latest"]
    assert stack(docker).images.size("web") is None  # a missing image is no size


def test_a_built_image_other_projects_could_share_is_refused() -> None:
    docker = FakeDocker()
    model = docker.fixed_model()
    model["services"]["api"] = {"build": {"context": "api"}, "image": "team/api:dev"}
    model["services"]["cache"] = {"image": "redis:7"}  # pulled: not the project's
    with pytest.raises(ImageNotOwned) as caught:
        stack(docker).images.built()
    assert str(caught.value) == (
        "service api builds image team/api:dev, a name other projects on this engine can overwrite"
    )
    assert caught.value.hint == "leave out its `image:`, or name it ${COMPOSE_PROJECT_NAME}-api"
    model["services"]["api"] = {"build": {"context": "api"}}  # compose names it p-api
    assert stack(docker).images.built()["api"] == "p-api"
    model["services"]["api"]["image"] = "registry:5000/p-api"
    with pytest.raises(ImageNotOwned):
        stack(docker).images.built()


def test_no_build_needs_every_image_built_by_this_project() -> None:
    docker = FakeDocker()
    stack(docker).images.require(install_local_stack=False)
    assert docker.calls.count("image inspect") == 1  # all at once when all are there
    docker.images["p-web:latest"] = FakeImage(1, "q", "web")  # another project's, by label
    del docker.images["p-chat:local"]
    with pytest.raises(ImagesMissing) as caught:
        stack(docker).images.require(install_local_stack=True)
    assert str(caught.value) == "--no-build: project p has not built p-chat:local, p-web:latest"
    assert caught.value.hint == (
        "build them with `nox -s build -- --project p --install-local-stack`, "
        "or run without --no-build"
    )
    assert caught.value.exit_code == 2


def test_no_build_finds_an_image_named_without_a_tag_as_its_latest() -> None:
    docker = FakeDocker()
    docker.fixed_model()["services"]["web"]["image"] = "p-web"  # compose's own default name
    stack(docker).images.require(install_local_stack=False)  # p-web:latest is p's web
    docker.images["p-web:latest"] = FakeImage(1, "q", "web")
    with pytest.raises(ImagesMissing, match=r"has not built p-web$"):
        stack(docker).images.require(install_local_stack=False)


def test_replaced_images_of_this_project_go_and_others_stay() -> None:
    docker = FakeDocker(dangling={"sha256:old1": "p", "sha256:old2": "p", "sha256:x": "q"})
    docker.in_use.add("sha256:old2")  # a kept container still runs it
    assert stack(docker).images.remove_replaced() == 1
    assert docker.dangling == {"sha256:old2": "p", "sha256:x": "q"}
    docker.in_use.clear()
    assert stack(docker).images.remove_replaced() == 1  # the next build's removes it
    assert docker.dangling == {"sha256:x": "q"}


def test_remove_images_takes_only_this_projects() -> None:
    docker = FakeDocker(dangling={"sha256:abcdef0123456789": "p", "sha256:x": "q"})
    docker.images["q-web:latest"] = FakeImage(1, "q", "web")
    removed = stack(docker).images.remove_all()
    assert removed == ("abcdef012345", "p-chat:lite", "p-chat:local", "p-web:latest")
    assert list(docker.images) == ["q-web:latest"]
    assert docker.dangling == {"sha256:x": "q"}
    assert stack(docker).images.remove_all() == ()


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("p-chat:lite", "p-chat"),
        ("p-chat", "p-chat"),
        ("registry:5000/team/api:dev", "registry:5000/team/api"),
        ("registry:5000/team/api", "registry:5000/team/api"),
        (":x", ":x"),
    ],
)
def test_the_repository_of_an_image_name(image: str, repository: str) -> None:
    from smoke.stack.images import _repository

    assert _repository(image) == repository


def test_an_image_name_with_a_registry_port_is_still_the_projects() -> None:
    docker = FakeDocker()
    model = docker.fixed_model()
    model["services"]["api"] = {"build": {"context": "api"}, "image": "p-api:dev"}
    assert stack(docker).images.built()["api"] == "p-api:dev"


def test_sizes_of_the_images_a_run_used() -> None:
    docker = FakeDocker()
    assert stack(docker).images.size("chat") == 123_000_000
    assert stack(docker).images.size("web", install_local_stack=True) == 111_000_000
    assert stack(docker).images.size("db") is None  # pulled, not built: not the project's


def test_replaced_images_are_removed_one_by_one_and_counted() -> None:
    docker = FakeDocker(dangling={"sha256:a": "p", "sha256:b": "p"})
    assert stack(docker).images.remove_replaced() == 2
    assert [args for name, args, _ in docker.asked if name == "image remove"] == [
        ("sha256:a",),
        ("sha256:b",),
    ]
    assert stack(docker).images.remove_replaced() == 0


def test_no_build_with_one_image_of_another_service_is_not_this_ones() -> None:
    docker = FakeDocker()
    docker.images["p-web:latest"] = FakeImage(1, "p", "chat")  # this project's, wrong service
    with pytest.raises(ImagesMissing, match=r"has not built p-web:latest;?$"):
        stack(docker).images.require(install_local_stack=False)


def test_removing_all_forces_every_tag_of_the_project_in_one_call() -> None:
    docker = FakeDocker()
    stack(docker).images.remove_all()
    ((args, kwargs),) = [(a, k) for name, a, k in docker.asked if name == "image remove"]
    assert sorted(args[0]) == ["sha256:p-chat:lite", "sha256:p-chat:local", "sha256:p-web:latest"]
    assert kwargs == {"force": True, "prune": True}
