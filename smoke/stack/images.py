"""The images a project builds: named `<project>-<service>[:tag]` as compose names
them, so no two projects share one; taken for `--no-build` only when compose's labels
say this project built them; removed by those labels, never by a name prefix."""

from __future__ import annotations

from typing import Any, Protocol

from python_on_whales import DockerClient

from smoke.errors import ImageNotOwned, ImagesMissing
from smoke.stack.client import ENGINE_ERRORS, edge_methods
from smoke.stack.inspected import Inspector

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def _repository(image: str) -> str:
    """`registry:5000/team/api:dev` -> `registry:5000/team/api`."""
    name, _, tag = image.rpartition(":")
    return name if name and "/" not in tag else image


def _tagged(image: str) -> str:
    """`team/api` -> `team/api:latest`, as the engine lists its tags."""
    return image if _repository(image) != image else f"{image}:latest"


class Modelled(Protocol):
    """What the images ask of their stack (``smoke.stack.compose.Stack``)."""

    docker: DockerClient
    inspector: Inspector

    @property
    def project(self) -> str: ...

    def model(self, *, install_local_stack: bool = False) -> dict[str, Any]: ...


@edge_methods
class ProjectImages:
    """One project's images, through its stack's docker client."""

    def __init__(self, stack: Modelled) -> None:
        self._stack = stack
        self._docker = stack.docker
        self._project = stack.project

    def built(self, *, install_local_stack: bool = False) -> dict[str, str]:
        """The image of each service the compose file builds, by service, as compose
        names it: ``<project>-<service>[:tag]``, so no two projects share one.

        A built image under any other name could be overwritten by another project's
        build on the same engine, and a run would test code it never built: refused.
        """
        model = self._stack.model(install_local_stack=install_local_stack)
        images = {}
        for name, service in model.get("services", {}).items():
            if not service.get("build"):
                continue  # pulled by its own name: not the project's
            image = str(service.get("image") or f"{self._project}-{name}")
            if _repository(image) != f"{self._project}-{name}":
                raise ImageNotOwned(
                    f"service {name} builds image {image}, a name other projects on this "
                    "engine can overwrite",
                    hint=f"leave out its `image:`, or name it ${{COMPOSE_PROJECT_NAME}}-{name}",
                )
            images[name] = image
        return images

    def require(self, *, install_local_stack: bool) -> None:
        """For ``--no-build``: every built service's image exists and was built by
        this project (compose's label says so); never another project's."""
        images = self.built(install_local_stack=install_local_stack)
        owners = self._built_by(list(images.values()))
        missing = [
            image
            for service, image in images.items()
            if owners.get(image) != (self._project, service)
        ]
        if missing:
            local = " --install-local-stack" if install_local_stack else ""
            raise ImagesMissing(
                f"--no-build: project {self._project} has not built {', '.join(missing)}",
                hint=f"build them with `nox -s build -- --project {self._project}{local}`, "
                "or run without --no-build",
            )

    def _built_by(self, images: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """(project, service) of each image that exists, from compose's labels: one
        inspect for all of them."""
        owners = {}
        for inspected in self._stack.inspector.images(images):
            labels = (inspected.config.labels if inspected.config else None) or {}
            owner = (labels.get(PROJECT_LABEL), labels.get(SERVICE_LABEL))
            tags = set(inspected.repo_tags or ())
            owners.update({image: owner for image in images if _tagged(image) in tags})
        return owners

    def remove_replaced(self) -> int:
        """Remove this project's dangling images: the ones a build just replaced. An
        image a container still runs stays until the next build, or ``--images``.
        Found by compose's project label, never by name. Returns how many went."""
        dangling = self._docker.image.list(
            filters=[("dangling", "true"), ("label", f"{PROJECT_LABEL}={self._project}")]
        )
        removed = 0
        for image in dangling:
            try:
                self._docker.image.remove(image.id, prune=True)
            except ENGINE_ERRORS:  # in use by a container: the next build's
                continue
            removed += 1
        return removed

    def remove_all(self) -> tuple[str, ...]:
        """Remove every image this project built (by compose's label); returns their
        names (or ids, for replaced ones)."""
        found = self._docker.image.list(filters=[("label", f"{PROJECT_LABEL}={self._project}")])
        if not found:
            return ()
        names = []
        for image in found:
            try:
                names.extend(image.repo_tags or [image.id[len("sha256:") :][:12]])
            except ENGINE_ERRORS:  # removed meanwhile
                continue
        self._docker.image.remove([image.id for image in found], force=True, prune=True)
        return tuple(sorted(names))

    def size(self, service: str, *, install_local_stack: bool = False) -> int | None:
        try:
            name = self.built(install_local_stack=install_local_stack)[service]
            found = self._stack.inspector.images([name])
        except (*ENGINE_ERRORS, KeyError):
            return None
        return int(found[0].size or 0) if found else None

    def missing_bases(self, model: dict[str, Any]) -> list[str]:
        """The base images (``BASE_IMAGE``) and pulled images of ``model`` that the
        engine does not have."""
        wanted = set()
        for service in model.get("services", {}).values():
            build = service.get("build") or {}
            base = (build.get("args") or {}).get("BASE_IMAGE")
            if base:
                wanted.add(str(base))
            elif service.get("image") and not build:
                wanted.add(str(service["image"]))
        return sorted(image for image in wanted if not self._docker.image.exists(image))
