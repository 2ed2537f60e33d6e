"""The product catalog the service seeds into PostgreSQL, and retrieval over it.

Retrieval ranks products by how well they match the question. The minimal stack
scores with inverse document frequency over shared words (``IdfRanker``); the local
stack (``INSTALL_LOCAL_STACK=1``) ranks by meaning, with an embedding model
(``contoso_chat.embeddings``). Either way the answer is composed from the top
products: no generative model is involved.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .settings import Settings


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    description: str
    price_cents: int
    #: The passage's vector as stored in the db (local stack), or None.
    embedding: tuple[float, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        """What keyword retrieval matches against."""
        return f"{self.name} {self.category} {self.description}"

    @property
    def passage(self) -> str:
        """What the embedding model reads: the name, then the description."""
        return f"{self.name}. {self.description}"

    @property
    def price(self) -> str:
        return f"${self.price_cents / 100:,.2f}"


CATALOG: tuple[Product, ...] = (
    Product(
        "TENT-001",
        "TrailMaster X4 Tent",
        "tents",
        "A four-person, three-season camping tent with a waterproof rainfly, "
        "two doors and aluminium poles that pitch in under five minutes.",
        25000,
    ),
    Product(
        "TENT-002",
        "SkyView 2-Person Tent",
        "tents",
        "A lightweight two-person backpacking tent with a mesh roof for "
        "stargazing and a packed weight of 1.8 kg.",
        20000,
    ),
    Product(
        "BAG-001",
        "CozyNights Sleeping Bag",
        "sleeping bags",
        "A mummy sleeping bag rated to minus 5 degrees Celsius, with synthetic "
        "insulation that stays warm when wet.",
        10000,
    ),
    Product(
        "PACK-001",
        "Adventurer Pro Backpack",
        "backpacks",
        "A 60-litre hiking backpack with an adjustable frame, hip belt pockets "
        "and a built-in rain cover.",
        9000,
    ),
    Product(
        "PACK-002",
        "SummitClimber Daypack",
        "backpacks",
        "A 25-litre daypack for day hikes, with a hydration sleeve and breathable mesh back panel.",
        12000,
    ),
    Product(
        "BOOT-001",
        "TrekReady Hiking Boots",
        "footwear",
        "Waterproof leather hiking boots with ankle support and a grippy "
        "rubber sole for rocky trails.",
        14000,
    ),
    Product(
        "JACKET-001",
        "RainGuard Hiking Jacket",
        "clothing",
        "A breathable waterproof rain jacket with taped seams, a packable hood and underarm vents.",
        11000,
    ),
    Product(
        "STOVE-001",
        "EcoFire Camping Stove",
        "cooking",
        "A compact gas camping stove that boils a litre of water in three "
        "minutes, with a piezo igniter and wind shield.",
        8000,
    ),
    Product(
        "LIGHT-001",
        "Lumina Headlamp",
        "lighting",
        "A rechargeable LED headlamp with 400 lumens, a red night mode and "
        "eight hours of battery life.",
        4500,
    ),
    Product(
        "KAYAK-001",
        "RiverRunner Kayak",
        "water sports",
        "A stable sit-on-top kayak for lakes and calm rivers, with a padded "
        "seat and dry storage hatch.",
        49000,
    ),
    Product(
        "POLE-001",
        "StrideLite Trekking Poles",
        "hiking gear",
        "Collapsible carbon trekking poles with cork grips that take strain "
        "off the knees on steep descents.",
        7000,
    ),
    Product(
        "FILTER-001",
        "PureFlow Water Filter",
        "hydration",
        "A squeeze water filter that removes bacteria and protozoa from "
        "streams, for safe drinking water on the trail.",
        3500,
    ),
)

_STOPWORDS = frozenset(
    """a an and are as at be best buy can do does for from have how i in is it me my need
    of on or should that the this to what which with you your""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case words minus stopwords, with a naive plural fold (tents -> tent)."""
    words = (w.removesuffix("s") if len(w) > 3 else w for w in _WORD.findall(text.lower()))
    return [w for w in words if w not in _STOPWORDS]


Ranked = list[tuple[Product, float]]


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


def compose_answer(question: str, ranked: Sequence[tuple[Product, float]]) -> str:
    if not ranked:
        categories = sorted({p.category for p in CATALOG})
        return (
            f'I could not find a product matching "{question}". '
            f"I can help with: {', '.join(categories)}."
        )
    best = ranked[0][0]
    answer = f'For "{question}", I recommend the {best.name} ({best.price}): {best.description}'
    if len(ranked) > 1:
        runner_up = ranked[1][0]
        answer += f" You might also consider the {runner_up.name} ({runner_up.price})."
    return answer
