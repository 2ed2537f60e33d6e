"""What the engine says of its objects, each read once per look, several in one call.

python-on-whales' objects inspect again whenever a field is read 10 ms or more after
their last inspect (its ``CACHE_VALIDITY_PERIOD``): reading a container's state and
then its labels could cost an inspect each, and more of them on a loaded machine,
where every extra call loads it further. An ``Inspector`` runs one `docker inspect`
for a set of objects and hands back python-on-whales' own models of them, which are
plain data and never inspect again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from python_on_whales import DockerClient
from python_on_whales.components.container.models import ContainerInspectResult
from python_on_whales.components.image.models import ImageInspectResult
from python_on_whales.exceptions import DockerException
from python_on_whales.utils import run


class Inspector:
    """One engine's objects, as its client reaches them (host, context, and the words
    before `docker`, such as `setsid`)."""

    def __init__(self, docker: DockerClient) -> None:
        self._docker = docker

    def containers(self, ids: Sequence[str]) -> list[ContainerInspectResult]:
        """Each of ``ids`` that exists, in their order; one removed meanwhile is left out."""
        return [ContainerInspectResult(**found) for found in self._inspect("container", ids)]

    def images(self, names: Sequence[str]) -> list[ImageInspectResult]:
        """Each of ``names`` that the engine has, in their order."""
        return [ImageInspectResult(**found) for found in self._inspect("image", names)]

    def _inspect(self, kind: str, names: Sequence[str]) -> list[dict[str, Any]]:
        if not names:
            return []
        try:
            command = [*self._docker.client_config.docker_cmd, kind, "inspect", *names]
            said = run(command, return_stderr=False)
        except DockerException as exc:
            # For a name it does not know, docker still prints the others and exits 1;
            # with nothing printed (no engine, say), the error is the answer.
            if not (exc.stdout or "").strip().startswith("["):
                raise
            said = exc.stdout or "[]"
        found: list[dict[str, Any]] = json.loads(said or "[]")
        return found
