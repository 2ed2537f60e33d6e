"""HTTP API of the chat service.

GET  /health                      liveness; never touches the db
GET  /health/dependencies         db round trip, 503 when it fails
POST /api/chat                    {"question", "conversation_id"?} -> answer + sources
GET  /api/conversations/{id}      the stored exchange, 404 when unknown
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .catalog import compose_answer, local_stack_installed, make_ranker
from .settings import Settings
from .store import DatabaseUnavailable, Store

MAX_QUESTION_CHARS = 4000
log = logging.getLogger("contoso_chat")


class InvalidInput(Exception):
    def __init__(self, message: str, *, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def error(message: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


async def health(request: Request) -> JSONResponse:
    stack = "local" if local_stack_installed() else "minimal"
    return JSONResponse({"status": "ok", "service": "chat", "stack": stack})


async def health_dependencies(request: Request) -> JSONResponse:
    store: Store = request.app.state.store
    try:
        latency_ms = await store.ping()
    except DatabaseUnavailable as exc:
        return JSONResponse(
            {"status": "error", "dependencies": {"db": {"status": "error", "reason": str(exc)}}},
            status_code=503,
        )
    return JSONResponse(
        {
            "status": "ok",
            "dependencies": {"db": {"status": "ok", "latency_ms": round(latency_ms, 2)}},
        }
    )


async def parse_chat_request(request: Request) -> tuple[str, uuid.UUID | None]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("request body must be JSON", status=400) from None
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object", status=400)
    question = body.get("question")
    if question is None:
        raise InvalidInput("question is required", field="question")
    if not isinstance(question, str):
        raise InvalidInput("question must be a string", field="question")
    if not question.strip():
        raise InvalidInput("question must not be empty", field="question")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(
            f"question must be at most {MAX_QUESTION_CHARS} characters", field="question"
        )
    raw_id = body.get("conversation_id")
    if raw_id is None:
        return question.strip(), None
    if not isinstance(raw_id, str):
        raise InvalidInput("conversation_id must be a string (a UUID)", field="conversation_id")
    try:
        return question.strip(), uuid.UUID(raw_id)
    except ValueError:
        raise InvalidInput("conversation_id must be a UUID", field="conversation_id") from None


async def chat(request: Request) -> JSONResponse:
    store: Store = request.app.state.store
    try:
        question, conversation_id = await parse_chat_request(request)
    except InvalidInput as exc:
        extra = {"field": exc.field} if exc.field else {}
        return error(str(exc), exc.status, **extra)
    try:
        if conversation_id is not None and not await store.conversation_exists(conversation_id):
            return error(f"conversation {conversation_id} not found", 404, field="conversation_id")
        ranked = make_ranker(await store.products()).rank(question)
        answer = compose_answer(question, ranked)
        sources = [product.sku for product, _ in ranked[:3]]
        conversation_id = conversation_id or uuid.uuid4()
        await store.record_exchange(conversation_id, question, answer, sources)
    except DatabaseUnavailable as exc:
        return error(f"database unavailable: {exc}", 503)
    return JSONResponse(
        {"answer": answer, "conversation_id": str(conversation_id), "sources": sources}
    )


async def conversation(request: Request) -> JSONResponse:
    store: Store = request.app.state.store
    try:
        conversation_id = uuid.UUID(request.path_params["conversation_id"])
    except ValueError:
        return error("conversation id must be a UUID", 404)
    try:
        messages = await store.messages(conversation_id)
    except DatabaseUnavailable as exc:
        return error(f"database unavailable: {exc}", 503)
    if messages is None:
        return error(f"conversation {conversation_id} not found", 404)
    return JSONResponse(
        {
            "conversation_id": str(conversation_id),
            "messages": [
                {
                    "role": m.role,
                    "content": m.content,
                    "sources": m.sources,
                    "created_at": m.created_at.isoformat(),
                }
                for m in messages
            ],
        }
    )


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error(exc.detail, exc.status_code)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error("internal error", 500)


def create_app(settings: Settings | None = None) -> Starlette:
    store = Store(settings or Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Seed in the background so /health answers at once even without a db;
        # requests retry the seeding if it did not succeed.
        async def seed() -> None:
            try:
                await store.ensure_ready()
            except DatabaseUnavailable as exc:
                log.warning("db not ready at start (%s); will retry on first request", exc)

        seeding = asyncio.create_task(seed())
        yield
        seeding.cancel()

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/health/dependencies", health_dependencies),
            Route("/api/chat", chat, methods=["POST"]),
            Route("/api/conversations/{conversation_id}", conversation),
        ],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan,
    )
    app.state.store = store
    return app
