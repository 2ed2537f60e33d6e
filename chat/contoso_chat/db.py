"""PostgreSQL access through one supervised connection: schema, seeded catalog,
conversations, and the truth about whether db can serve a question.

Chat starts beside db and never waits for it: a supervisor task connects in the
background with a short backoff, creates the schema and seeds the catalog (with its
vectors on the local stack) as soon as db answers, then keeps watching. When the
connection breaks or the catalog is gone (db on tmpfs comes back empty after a
restart) it connects and seeds again. Until db can serve, every call fails at once
with ``DatabaseUnavailable`` and the reason; no request waits for db, none hangs.

psycopg is imported by the supervisor, on a worker thread, when it first dials db: chat
serves ``/health`` without paying for the driver's import first.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .catalog import CATALOG, Product
from .retrieval import Retriever
from .settings import Settings

if TYPE_CHECKING:
    import psycopg

    Connection = psycopg.AsyncConnection[Any]

T = TypeVar("T")
log = logging.getLogger("contoso_chat.db")

# Reconnect quickly at first (db is usually a moment away), then back off.
BACKOFF_FIRST_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 0.5
#: How often a ready chat checks its connection and the catalog while idle.
WATCH_INTERVAL_SECONDS = 1.0
# Serialises schema creation and seeding between chat replicas starting together.
_SCHEMA_LOCK_KEY = 0x636F6E746F736F  # "contoso"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    sku text PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL,
    description text NOT NULL,
    price_cents integer NOT NULL,
    embedding real[],
    embedding_model text
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
_UPSERT = """
INSERT INTO products (sku, name, category, description, price_cents)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (sku) DO UPDATE SET
    name = EXCLUDED.name, category = EXCLUDED.category,
    description = EXCLUDED.description, price_cents = EXCLUDED.price_cents
"""
_STORE_VECTOR = "UPDATE products SET embedding = %s, embedding_model = %s WHERE sku = %s"

# libpq reports connection failures without a SQLSTATE, so the reason is read from
# its message; errors raised by a running server are told apart by SQLSTATE.
_SQLSTATE_REASONS = {
    "28P01": ("authentication failed", False),
    "28000": ("authentication failed", False),
    "3D000": ("database does not exist", False),
    "57P03": ("db starting up", True),
    "57P01": ("db shut down", True),
    "57P02": ("db shut down", True),
    "42P01": ("catalog missing", True),
}
_LIBPQ_REASONS = (
    ("password authentication failed", "authentication failed", False),
    ("no pg_hba.conf entry", "authentication failed", False),
    ("does not exist", "database does not exist", False),
    ("connection refused", "connection refused", True),
    ("could not translate host name", "db host not found", True),
    ("failed to resolve host", "db host not found", True),  # psycopg's own resolver
    ("timeout expired", "connection timed out", True),
    ("starting up", "db starting up", True),
    ("shutting down", "db shutting down", True),
)


class DatabaseUnavailable(Exception):
    """db cannot serve right now. ``reason`` is short; ``transient`` says whether
    waiting can help (a wrong password will not go away by itself)."""

    def __init__(
        self, reason: str, *, transient: bool = True, detail: str = "", since: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.detail = detail
        #: When db stopped serving (epoch seconds), if known.
        self.since = since


def unavailable(exc: BaseException) -> DatabaseUnavailable:
    """A psycopg or socket error as a reason a person can act on, no credentials."""
    lines = str(exc).strip().splitlines()
    detail = lines[0] if lines else type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate in _SQLSTATE_REASONS:
        reason, transient = _SQLSTATE_REASONS[sqlstate]
        return DatabaseUnavailable(reason, transient=transient, detail=detail)
    text = str(exc).lower()
    for marker, reason, transient in _LIBPQ_REASONS:
        if marker in text:
            return DatabaseUnavailable(reason, transient=transient, detail=detail)
    return DatabaseUnavailable("connection failed", detail=detail)


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    sources: list[str]
    created_at: datetime


@dataclass(frozen=True)
class Health:
    latency_ms: float
    products: int


class Database:
    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        *,
        on_driver: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._retriever = retriever
        self._on_driver = on_driver
        self._driver_loaded = False
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()  # one operation at a time on the connection
        self._problem: DatabaseUnavailable | None = DatabaseUnavailable("connecting")
        self._problem_since = time.time()
        self._wake = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name="db-supervisor")

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 1)

    @property
    def ready(self) -> bool:
        return self._problem is None

    async def _supervise(self) -> None:
        delay = BACKOFF_FIRST_SECONDS
        while True:
            if self._problem is not None:
                try:
                    await self._connect_and_seed()
                except DatabaseUnavailable as exc:
                    self._set_problem(exc)
                    await self._pause(delay)
                    delay = min(delay * 2, BACKOFF_MAX_SECONDS)
                    continue
                delay = BACKOFF_FIRST_SECONDS
            await self._pause(WATCH_INTERVAL_SECONDS)
            with contextlib.suppress(DatabaseUnavailable):  # _run has recorded it
                await self.check()

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless a request reports trouble first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _connect_and_seed(self) -> None:
        await asyncio.to_thread(self._load_driver)  # the loop keeps serving
        import psycopg

        conn = await self._bounded(
            psycopg.AsyncConnection.connect(self._settings.conninfo, autocommit=True)
        )
        try:
            vectors = await self._retriever.passage_vectors(CATALOG)
            await self._bounded(_seed(conn, vectors, self._retriever.model))
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 1)
            raise
        async with self._lock:
            old, self._conn = self._conn, conn
            self._problem = None
        if old is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(old.close(), 1)
        log.info("db ready: catalog of %d products seeded", len(CATALOG))

    def _load_driver(self) -> None:
        importlib.import_module("psycopg")
        if not self._driver_loaded:
            self._driver_loaded = True
            self._on_driver()  # e.g. its instrumentation, which imports it too

    def _set_problem(self, problem: DatabaseUnavailable) -> None:
        previous = self._problem
        if previous is None:
            self._problem_since = time.time()
        self._problem = problem
        if previous is None or previous.reason != problem.reason:
            log.warning("db not ready (%s): %s", problem.reason, problem.detail or "retrying")

    def _lost(self, problem: DatabaseUnavailable) -> None:
        """The connection or the catalog is gone: reconnect and reseed now."""
        if self._conn is not None:
            self._conn = None  # a stuck operation may still hold it; never wait for it
        self._set_problem(problem)
        self._wake.set()

    async def _bounded(self, work: Awaitable[T]) -> T:
        """Await ``work`` for at most the db timeout, as ``DatabaseUnavailable``."""
        task = asyncio.ensure_future(work)
        limit = self._settings.db_timeout_seconds + 1
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            # Leave the stuck task to fail on its own: cancelling a psycopg
            # operation against a frozen server can itself block.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            raise DatabaseUnavailable("db timed out", detail=f"db did not answer within {limit:g}s")
        import psycopg  # imported by now: only the supervisor's connect starts a task

        try:
            return task.result()
        except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
            raise unavailable(exc) from exc
        except psycopg.errors.UndefinedTable as exc:
            raise unavailable(exc) from exc

    async def _run(self, operation: Callable[[Connection], Awaitable[T]]) -> T:
        """Run ``operation`` on the connection, or fail at once if db is not ready."""
        self._raise_if_not_ready()
        async with self._lock:
            self._raise_if_not_ready()
            assert self._conn is not None
            try:
                return await self._bounded(operation(self._conn))
            except DatabaseUnavailable as exc:
                self._lost(exc)
                exc.since = self._problem_since
                raise

    def _raise_if_not_ready(self) -> None:
        problem = self._problem
        if problem is None and self._conn is None:
            problem = DatabaseUnavailable("connecting")
        if problem is not None:
            # A fresh exception per caller: one shared instance would pile up tracebacks.
            raise DatabaseUnavailable(
                problem.reason,
                transient=problem.transient,
                detail=problem.detail,
                since=self._problem_since,
            )

    # -- what the API needs ---------------------------------------------------------

    async def check(self) -> Health:
        """Ready only if a question could be answered: the live connection chat
        uses, and the whole catalog (with vectors, where the stack needs them)."""
        needs_vectors = self._retriever.stack == "local"

        async def probe(conn: Connection) -> Health:
            started = time.perf_counter()
            cur = await conn.execute("SELECT count(*), count(embedding) FROM products")
            row = await cur.fetchone()
            latency_ms = (time.perf_counter() - started) * 1000
            products, with_vectors = row if row else (0, 0)
            if products < len(CATALOG) or (needs_vectors and with_vectors < products):
                raise DatabaseUnavailable(
                    "catalog missing", detail=f"{products} of {len(CATALOG)} products seeded"
                )
            return Health(latency_ms, products)

        return await self._run(probe)

    async def products(self) -> list[Product]:
        async def load(conn: Connection) -> list[Product]:
            cur = await conn.execute(
                "SELECT sku, name, category, description, price_cents, embedding"
                " FROM products ORDER BY sku"
            )
            return [
                Product(*row[:5], embedding=None if row[5] is None else tuple(row[5]))
                for row in await cur.fetchall()
            ]

        return await self._run(load)

    async def conversation_exists(self, conversation_id: uuid.UUID) -> bool:
        async def check(conn: Connection) -> bool:
            cur = await conn.execute(
                "SELECT 1 FROM conversations WHERE id = %s", (conversation_id,)
            )
            return await cur.fetchone() is not None

        return await self._run(check)

    async def record_exchange(
        self, conversation_id: uuid.UUID, question: str, answer: str, sources: Sequence[str]
    ) -> None:
        async def record(conn: Connection) -> None:
            from psycopg.types.json import Jsonb

            async with conn.transaction():
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

        await self._run(record)

    async def messages(self, conversation_id: uuid.UUID) -> list[Message] | None:
        """The conversation's messages in order, or None if it does not exist."""

        async def load(conn: Connection) -> list[Message] | None:
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

        return await self._run(load)


async def _seed(conn: Connection, vectors: list[list[float]] | None, model: str | None) -> None:
    """Create the schema and upsert the catalog (and its vectors); idempotent."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
        await conn.execute(_SCHEMA)
        async with conn.cursor() as cur:
            await cur.executemany(
                _UPSERT,
                [(p.sku, p.name, p.category, p.description, p.price_cents) for p in CATALOG],
            )
            if vectors is not None:
                await cur.executemany(
                    _STORE_VECTOR,
                    [(v, model, p.sku) for p, v in zip(CATALOG, vectors, strict=True)],
                )
