"""The local embedding stack, for real: CHAT_INSTALL_LOCAL_STACK=1 builds chat with
its embedding model under a tag of its own, the full smoke checks retrieval by
meaning, a corrupt model stops chat under `chat health`, and the lite image stays
without any of it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from python_on_whales import DockerClient

from smoke.plan import PARAPHRASES as SMOKE_PARAPHRASES
from tests.conftest import COMPOSE_FILE, image, leftovers
from tests.integration.faultkit import run_fault
from tests.integration.smoke_cli import nox
from tests.services.test_embeddings import PARAPHRASES, words

pytestmark = pytest.mark.docker


@pytest.mark.parametrize(("question", "sku"), SMOKE_PARAPHRASES)
def test_the_smokes_questions_share_no_word_with_their_products(question: str, sku: str) -> None:
    from contoso_chat.catalog import CATALOG

    product = next(p for p in CATALOG if p.sku == sku)
    assert not words(question) & words(product.text)


def test_local_stack_env_var_builds_and_checks_it(clean_project: str) -> None:
    result = nox("smoke", "--project", clean_project, env={"CHAT_INSTALL_LOCAL_STACK": "1"})
    assert result.returncode == 0, result.output
    assert "✓ chat local stack" in result.output
    assert "all-MiniLM-L6-v2-onnx-int8, 384 dimensions" in result.output
    assert "✓ semantic retrieval" in result.output
    assert leftovers(clean_project) == []


def test_kept_local_stack_answers_paraphrases_by_meaning(clean_project: str) -> None:
    result = nox("smoke", "--install-local-stack", "--keep-stack", "--project", clean_project)
    docker = DockerClient(compose_files=[COMPOSE_FILE], compose_project_name=clean_project)
    try:
        assert result.returncode == 0, result.output
        assert "✓ semantic retrieval" in result.output
        web = "http://127.0.0.1:{}".format(docker.compose.port("web", 3000)[1])
        for question, sku in PARAPHRASES:
            answer = httpx.post(f"{web}/api/chat/service", json={"question": question})
            assert answer.status_code == 200, answer.text
            assert answer.json()["sources"][0] == sku, (question, answer.json())
    finally:
        nox("teardown", "--project", clean_project)
    assert leftovers(clean_project) == []


@pytest.mark.usefixtures("local_images")
def test_a_corrupt_model_stops_chat_under_chat_health(clean_project: str, tmp_path: Path) -> None:
    run = run_fault(
        clean_project,
        tmp_path,
        "chat-model-corrupt",
        profile="full",
        args=("--install-local-stack", "--no-browser", "--timeout", "60"),
    )
    assert run.returncode == 1, run.output
    assert "✗ chat health" in run.output
    assert "failure class: service crashed" in run.output
    assert "chat: fatal: model file /opt/model/model.onnx is corrupt: sha256 " in run.output
    assert "expected 8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6" in run.output
    assert run.seconds < 30
    assert leftovers(clean_project) == []


@pytest.mark.usefixtures("local_images", "lite_images")
def test_the_lite_image_has_no_local_stack_and_keeps_its_own_tag(
    clean_project: str, tmp_path: Path
) -> None:
    lite = run_fault(clean_project, tmp_path, CHAT_INSTALL_LOCAL_STACK="1")
    assert lite.returncode == 0, lite.output
    probe = "import onnxruntime, tokenizers; print('local stack here')"
    lite_image = subprocess.run(
        ["docker", "run", "--rm", f"{clean_project}-chat:lite", "python", "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert lite_image.returncode == 1
    assert "ModuleNotFoundError: No module named 'onnxruntime'" in lite_image.stderr
    local_image = subprocess.run(
        ["docker", "run", "--rm", image("chat", "local"), "python", "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert local_image.stdout.strip() == "local stack here", local_image.stderr
