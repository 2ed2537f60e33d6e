"""PostgreSQL access: schema, catalog seeding, conversations, and the health probe.

Every call opens its own short connection under a hard deadline, so a db that is
down, paused or slow turns into a ``DatabaseUnavailable`` within seconds instead of
a hung request, and the service recovers by itself when the db comes back.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb

from .catalog import CATALOG, Product
from .settings import Settings

T = TypeVar("T")

# Serialises schema creation and seeding between chat replicas starting together.
_SCHEMA_LOCK_KEY = 0x636F6E746F736F  # "contoso"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    sku text PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL,
    description text NOT NULL,
    price_cents integer NOT NULL
);
CREATE TABLE IF NOT EXISTS conversations (
    id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS messages (
    id bigserial PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('user', 'assistant')),
    content text NOT NULL,
    sources jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""


class DatabaseUnavailable(Exception):
    """The db could not be reached or did not answer in time."""


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    sources: list[str]
    created_at: datetime


class Store:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ready = False
        self._ready_lock = asyncio.Lock()

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await psycopg.AsyncConnection.connect(self._settings.conninfo)
        try:
            async with conn:  # commits on success, rolls back on error
                yield conn
        finally:
            await conn.close()

    async def _bounded(self, work: Awaitable[T]) -> T:
        """Await ``work`` for at most the db timeout; never hang the caller."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self._settings.db_timeout_seconds + 1)
        if not done:
            # Leave the stuck task to fail on its own; cancelling a psycopg
            # operation against a frozen server can itself block.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            raise DatabaseUnavailable(
                f"db did not answer within {self._settings.db_timeout_seconds:g}s"
            )
        try:
            return task.result()
        except psycopg.Error as exc:
            raise DatabaseUnavailable(_describe(exc)) from exc
        except OSError as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    async def ping(self) -> float:
        """Round trip to the db; returns the latency in milliseconds."""

        async def roundtrip() -> float:
            started = time.perf_counter()
            async with self._connect() as conn:
                await conn.execute("SELECT 1")
            return (time.perf_counter() - started) * 1000

        return await self._bounded(roundtrip())

    async def ensure_ready(self) -> None:
        """Create the schema and seed the catalog once; safe to call concurrently."""
        if self._ready:
            return
        async with self._ready_lock:
            if not self._ready:
                await self._bounded(self._create_and_seed())
                self._ready = True

    async def _create_and_seed(self) -> None:
        async with self._connect() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            await conn.execute(_SCHEMA)
            async with conn.cursor() as cur:
                await cur.executemany(
                    """
                    INSERT INTO products (sku, name, category, description, price_cents)
                    VALUES (%s, %s, %s, %s, %s)
                    ON CONFLICT (sku) DO UPDATE SET
                        name = EXCLUDED.name, category = EXCLUDED.category,
                        description = EXCLUDED.description,
                        price_cents = EXCLUDED.price_cents
                    """,
                    [(p.sku, p.name, p.category, p.description, p.price_cents) for p in CATALOG],
                )

    async def products(self) -> list[Product]:
        async def load() -> list[Product]:
            async with self._connect() as conn:
                cur = await conn.execute(
                    "SELECT sku, name, category, description, price_cents"
                    " FROM products ORDER BY sku"
                )
                return [Product(*row) for row in await cur.fetchall()]

        await self.ensure_ready()
        return await self._bounded(load())

    async def conversation_exists(self, conversation_id: uuid.UUID) -> bool:
        async def check() -> bool:
            async with self._connect() as conn:
                cur = await conn.execute(
                    "SELECT 1 FROM conversations WHERE id = %s", (conversation_id,)
                )
                return await cur.fetchone() is not None

        await self.ensure_ready()
        return await self._bounded(check())

    async def record_exchange(
        self,
        conversation_id: uuid.UUID,
        question: str,
        answer: str,
        sources: Sequence[str],
    ) -> None:
        async def record() -> None:
            async with self._connect() as conn:
                await conn.execute(
                    "INSERT INTO conversations (id) VALUES (%s) ON CONFLICT (id) DO NOTHING",
                    (conversation_id,),
                )
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO messages (conversation_id, role, content, sources)"
                        " VALUES (%s, %s, %s, %s)",
                        [
                            (conversation_id, "user", question, Jsonb([])),
                            (conversation_id, "assistant", answer, Jsonb(list(sources))),
                        ],
                    )

        await self.ensure_ready()
        await self._bounded(record())

    async def messages(self, conversation_id: uuid.UUID) -> list[Message] | None:
        """The conversation's messages in order, or None if it does not exist."""

        async def load() -> list[Message] | None:
            async with self._connect() as conn:
                cur = await conn.execute(
                    "SELECT 1 FROM conversations WHERE id = %s", (conversation_id,)
                )
                if await cur.fetchone() is None:
                    return None
                cur = await conn.execute(
                    "SELECT role, content, sources, created_at FROM messages"
                    " WHERE conversation_id = %s ORDER BY id",
                    (conversation_id,),
                )
                return [Message(*row) for row in await cur.fetchall()]

        await self.ensure_ready()
        return await self._bounded(load())


def _describe(exc: psycopg.Error) -> str:
    # The first line of libpq's message names the cause without echoing credentials.
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
