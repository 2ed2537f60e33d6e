"""The product catalog the service seeds into PostgreSQL, as data, and the answer
composed from the products retrieval ranks first (``contoso_chat.retrieval``): no
generative model is involved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


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

Ranked = list[tuple[Product, float]]


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
