"""The images the integration tests run, built once per session, for real."""

from __future__ import annotations

import pytest

from tests.integration.faultkit import build


@pytest.fixture(scope="session")
def lite_images(docker_engine: None) -> None:
    build()


@pytest.fixture(scope="session")
def local_images(docker_engine: None) -> None:
    build("--install-local-stack")
