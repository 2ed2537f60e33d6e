"""Retrieval: ranks the catalog's products by how well they match the question.

The minimal stack scores with inverse document frequency over shared words
(``IdfRanker``); the local stack (``INSTALL_LOCAL_STACK=1``) ranks by meaning, with an
embedding model (``contoso_chat.embeddings``, imported only then).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from .catalog import Product, Ranked

if TYPE_CHECKING:
    from .settings import Settings


_STOPWORDS = frozenset(
    """a an and are as at be best buy can do does for from have how i in is it me my need
    of on or should that the this to what which with you your""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case words minus stopwords, with a naive plural fold (tents -> tent)."""
    words = (w.removesuffix("s") if len(w) > 3 else w for w in _WORD.findall(text.lower()))
    return [w for w in words if w not in _STOPWORDS]


class Retriever(Protocol):
    """Ranks the stored products for a question, best first, dropping non-matches."""

    #: What /health reports as ``stack``.
    stack: str
    #: The embedding model's id, stored beside each vector; None without vectors.
    model: str | None
    #: Its vector dimension; None without vectors.
    dimension: int | None

    async def rank(self, question: str, products: Sequence[Product]) -> Ranked: ...

    async def passage_vectors(self, products: Sequence[Product]) -> list[list[float]] | None:
        """Vectors to store next to the products, or None when this retriever has none."""
        ...


class IdfRanker:
    """Sum of inverse document frequencies of the question's words found in a product."""

    def __init__(self, products: Sequence[Product]) -> None:
        self._products = list(products)
        self._docs = [set(tokenize(p.text)) for p in self._products]
        n = len(self._docs)
        vocab = set().union(*self._docs) if self._docs else set()
        self._idf = {w: math.log(1 + n / sum(w in d for d in self._docs)) for w in vocab}

    def rank(self, question: str) -> Ranked:
        words = set(tokenize(question))
        scored = [
            (p, sum(self._idf[w] for w in words & doc))
            for p, doc in zip(self._products, self._docs, strict=True)
        ]
        return sorted((s for s in scored if s[1] > 0), key=lambda s: (-s[1], s[0].sku))


class KeywordRetriever:
    """The minimal stack: keywords only, nothing to install."""

    stack = "minimal"
    model = None
    dimension = None

    async def rank(self, question: str, products: Sequence[Product]) -> Ranked:
        return IdfRanker(products).rank(question)

    async def passage_vectors(self, products: Sequence[Product]) -> list[list[float]] | None:
        return None


def make_retriever(settings: Settings) -> Retriever:
    """The stack's retriever; the local one loads (and checks) the embedding model."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return load_retriever(settings, pool)()


def load_retriever(settings: Settings, pool: Executor) -> Callable[[], Retriever]:
    """Start ``make_retriever``'s work, with what can run beside the caller on ``pool``;
    call the result to wait for the retriever. A corrupt model file raises from either."""
    if settings.stack == "local":
        from .embeddings import SemanticRetriever, load_embedder

        embedder = load_embedder(settings.model_dir, pool)
        return lambda: SemanticRetriever(embedder.result())
    retriever = KeywordRetriever()
    return lambda: retriever
