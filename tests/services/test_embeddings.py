"""The local stack's embedding model, for real: the pinned model ranks paraphrases
that share no word with their product first, keeps unrelated questions below the
floor, refuses a corrupt or missing file, and chat stores and uses the vectors."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from contoso_chat.app import create_app
from contoso_chat.catalog import CATALOG, Product
from contoso_chat.embeddings import (
    DIMENSION,
    MIN_SIMILARITY,
    MODEL_ID,
    Embedder,
    ModelFileError,
    load_embedder,
    pinned_sums,
    rank_by_similarity,
)
from contoso_chat.settings import Settings
from smoke.plan import MIN_MARGIN
from smoke.plan import PARAPHRASES as SMOKE_PARAPHRASES
from tests.conftest import ROOT
from tests.services.test_chat import wait_until_ready

# A question in other words than its product's, and the product it means: the
# smoke's own (which must lead by its margin) and more.
PARAPHRASES = [
    *SMOKE_PARAPHRASES,
    ("something to cook dinner on", "STOVE-001"),
    ("help me see in the dark", "LIGHT-001"),
    ("shelter under the night sky", "TENT-002"),
]
UNRELATED = [
    "quantum chromodynamics",
    "the history of the roman empire",
    "a good recipe for lasagna",
    "best smartphone 2026",
    "what is the capital of france",
]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.fixture(scope="module")
def embedder(model_dir: Path) -> Embedder:
    return Embedder.load(model_dir)


@pytest.fixture(scope="module")
def catalog(embedder: Embedder) -> list[Product]:
    vectors = embedder.embed([p.passage for p in CATALOG])
    return [
        dataclasses.replace(p, embedding=tuple(map(float, v)))
        for p, v in zip(CATALOG, vectors, strict=True)
    ]


def test_vectors_are_unit_length_of_the_models_dimension(embedder: Embedder) -> None:
    vectors = embedder.embed(["a tent", "a much longer question about a stove for the trail"])
    assert vectors.shape == (2, DIMENSION)
    for vector in vectors:
        assert abs(float((vector**2).sum()) - 1.0) < 1e-4


@pytest.mark.parametrize(("question", "sku"), PARAPHRASES)
def test_a_paraphrase_sharing_no_word_finds_its_product_first(
    embedder: Embedder, catalog: list[Product], question: str, sku: str
) -> None:
    product = next(p for p in CATALOG if p.sku == sku)
    assert not words(question) & words(product.text), "the question must share no word"
    ranked = rank_by_similarity(embedder.embed([question])[0], catalog)
    assert [p.sku for p, _ in ranked][:1] == [sku], ranked
    if (question, sku) in SMOKE_PARAPHRASES and len(ranked) > 1:  # the smoke's lead holds
        assert ranked[0][1] - ranked[1][1] >= MIN_MARGIN, ranked


@pytest.mark.parametrize("question", UNRELATED)
def test_an_unrelated_question_stays_below_the_floor(
    embedder: Embedder, catalog: list[Product], question: str
) -> None:
    best = rank_by_similarity(embedder.embed([question])[0], catalog, floor=-1.0)[0]
    assert best[1] < MIN_SIMILARITY
    assert rank_by_similarity(embedder.embed([question])[0], catalog) == []


@pytest.fixture
def model_copy(model_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    return copy


def test_a_corrupt_model_file_is_refused_naming_it_and_its_checksum(model_copy: Path) -> None:
    data = bytearray((model_copy / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (model_copy / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as caught:
        Embedder.load(model_copy)
    message = str(caught.value)
    assert f"{model_copy / 'model.onnx'} is corrupt" in message
    assert pinned_sums()["model.onnx"] in message


def test_a_missing_model_file_is_refused(model_copy: Path) -> None:
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(ModelFileError, match=r"tokenizer\.json is missing \(expected sha256 \w+"):
        Embedder.load(model_copy)


class HeldPool(Executor):
    """Runs nothing until told to: shows what the caller gets before the pool works."""

    def __init__(self) -> None:
        self.held: list[tuple[Future[Any], Callable[[], Any]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.held.append((future, lambda: fn(*args, **kwargs)))
        return future

    def work(self) -> None:
        for future, call in self.held:
            try:
                future.set_result(call())
            except Exception as exc:
                future.set_exception(exc)


@pytest.fixture
def sessions_built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths ONNX Runtime was asked to load, recorded on the way to the real thing."""
    import onnxruntime

    real = onnxruntime.InferenceSession
    built: list[str] = []

    def recording(path: str, *args: Any, **kwargs: Any) -> Any:
        built.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", recording)
    return built


def test_the_session_is_built_on_the_pool_while_the_caller_goes_on(
    model_dir: Path, sessions_built: list[str]
) -> None:
    pool = HeldPool()
    loading = load_embedder(model_dir, pool)
    assert not loading.done()
    assert sessions_built == []
    pool.work()
    assert sessions_built == [str(model_dir / "model.onnx")]
    assert loading.result().embed(["a tent"]).shape == (1, DIMENSION)


def test_a_corrupt_model_never_reaches_onnx_runtime(
    model_copy: Path, sessions_built: list[str]
) -> None:
    (model_copy / "model.onnx").write_bytes(b"not a model")
    with ThreadPoolExecutor(max_workers=1) as pool:
        loading = load_embedder(model_copy, pool)
        with pytest.raises(ModelFileError, match=r"model\.onnx is corrupt"):
            loading.result()
    assert sessions_built == []


def test_chat_refuses_to_start_in_one_line(model_copy: Path) -> None:
    (model_copy / "model.onnx").write_bytes(b"")
    completed = subprocess.run(
        [sys.executable, "-m", "contoso_chat"],
        cwd=ROOT / "chat",
        env={
            **os.environ,
            "INSTALL_LOCAL_STACK": "1",
            "CHAT_MODEL_DIR": str(model_copy),
            "PYTHONPATH": str(ROOT / "telemetry"),  # where the image has it: beside chat
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.count("\n") == 1, completed.stderr
    assert completed.stderr.startswith(f"chat: fatal: model file {model_copy / 'model.onnx'}")
    assert pinned_sums()["model.onnx"] in completed.stderr


@pytest.mark.docker
def test_chat_with_the_local_stack_stores_vectors_and_answers_by_meaning(
    db_settings: Settings, model_dir: Path
) -> None:
    local = dataclasses.replace(db_settings, stack="local", model_dir=model_dir)
    with TestClient(create_app(local)) as client:
        wait_until_ready(client)
        health = client.get("/health").json()
        answers = {q: client.post("/api/chat", json={"question": q}).json() for q, _ in PARAPHRASES}
        nothing = client.post("/api/chat", json={"question": UNRELATED[0]}).json()
    assert health == {
        "status": "ok",
        "service": "chat",
        "stack": "local",
        "model": MODEL_ID,
        "dimension": DIMENSION,
    }
    for question, sku in PARAPHRASES:
        assert answers[question]["sources"][0] == sku, answers[question]
    assert nothing["sources"] == []
    assert "could not find a product" in nothing["answer"]

    import psycopg

    with psycopg.connect(db_settings.conninfo) as conn:
        rows = conn.execute(
            "SELECT count(*), min(array_length(embedding, 1)), min(embedding_model)"
            " FROM products WHERE embedding IS NOT NULL"
        ).fetchone()
    assert rows == (len(CATALOG), DIMENSION, MODEL_ID)
