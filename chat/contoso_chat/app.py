"""HTTP API of the chat service, on FastAPI.

GET  /health                   liveness, the stack and its model; never touches db
GET  /health/dependencies      200 only when db can serve a question, else 503 + reason
POST /api/chat                 {"question", "conversation_id"?} -> answer + sources
GET  /api/conversations/{id}   the stored exchange, 404 when unknown
GET  /openapi.json             chat's contract, generated from ``models``

Every error is JSON, ``{"error": ..., "field"?: ...}``, and documented in the contract.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .catalog import KeywordRetriever, Retriever, compose_answer
from .db import Database, DatabaseUnavailable
from .models import (
    MAX_QUESTION_CHARS,
    ChatAnswer,
    ChatRequest,
    Conversation,
    DbDependency,
    Dependencies,
    DependencyHealth,
    ErrorBody,
    Health,
    Message,
)
from .settings import Settings

log = logging.getLogger("contoso_chat")
SOURCES = 3

# What the contract says each error status means.
_BAD_BODY = {"model": ErrorBody, "description": "The body is not a JSON object."}
_INVALID = {"model": ErrorBody, "description": "A field is invalid; `field` names it."}
_NOT_FOUND = {"model": ErrorBody, "description": "No such conversation."}
_DB_DOWN = {"model": ErrorBody, "description": "db cannot serve right now; retry later."}
# The answer's conversation can be read back: a link clients (and Schemathesis) follow.
_ANSWERED = {
    "description": "The answer, and the conversation it is stored in.",
    "links": {
        "ReadConversation": {
            "operationId": "read_conversation",
            "parameters": {"conversation_id": "$response.body#/conversation_id"},
        }
    },
}

# Friendlier words than pydantic's for the mistakes clients make.
_MESSAGES = {
    "missing": "{field} is required",
    "string_type": "{field} must be a string",
    "string_too_short": "{field} must not be empty",
    "string_pattern_mismatch": "{field} must hold some text and no NUL characters",
    "string_too_long": f"{{field}} must be at most {MAX_QUESTION_CHARS} characters",
    "string_unicode": "{field} must be valid UTF-8 text",
    "uuid_parsing": "{field} must be a UUID",
    "uuid_type": "{field} must be a UUID (a string)",
}


class ApiError(Exception):
    def __init__(self, message: str, *, status: int, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def error(message: str, status: int, field: str | None = None) -> JSONResponse:
    body = ErrorBody(error=message, field=field).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status)


def make_retriever(settings: Settings) -> Retriever:
    """The stack's retriever; the local one loads (and checks) the embedding model."""
    if settings.stack == "local":
        from .embeddings import Embedder, SemanticRetriever

        return SemanticRetriever(Embedder(settings.model_dir))
    return KeywordRetriever()


def create_app(settings: Settings | None = None, *, retriever: Retriever | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    retriever = retriever or make_retriever(settings)
    db = Database(settings, retriever)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.start()  # connects and seeds in the background: /health answers at once
        yield
        await db.stop()

    app = FastAPI(
        title="Contoso chat",
        version="1.0.0",
        description="Answers product questions from a catalog kept in PostgreSQL.",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load scripts from a CDN; the JSON is enough
        redoc_url=None,
    )

    @app.get(
        "/health", operation_id="health", response_model=Health, response_model_exclude_none=True
    )
    async def health() -> Health:
        """Liveness: chat itself is up. Reports the stack, and its model if any."""
        return Health(
            status="ok",
            service="chat",
            stack="local" if retriever.stack == "local" else "minimal",
            model=retriever.model,
            dimension=retriever.dimension,
        )

    @app.get(
        "/health/dependencies",
        operation_id="dependencies",
        response_model=DependencyHealth,
        response_model_exclude_none=True,
        responses={503: {"model": DependencyHealth, "description": "db cannot serve."}},
    )
    async def health_dependencies() -> Any:
        """Ready: db answers on chat's own connection and the catalog is seeded."""
        try:
            checked = await db.check()
        except DatabaseUnavailable as exc:
            db_state = DbDependency(
                status="error", reason=exc.reason, transient=exc.transient, detail=exc.detail
            )
            body = DependencyHealth(status="error", dependencies=Dependencies(db=db_state))
            return JSONResponse(body.model_dump(exclude_none=True, mode="json"), status_code=503)
        db_state = DbDependency(
            status="ok", latency_ms=round(checked.latency_ms, 2), products=checked.products
        )
        return DependencyHealth(status="ok", dependencies=Dependencies(db=db_state))

    @app.post(
        "/api/chat",
        operation_id="ask",
        response_model=ChatAnswer,
        responses={200: _ANSWERED, 400: _BAD_BODY, 404: _NOT_FOUND, 422: _INVALID, 503: _DB_DOWN},
    )
    async def chat(request: ChatRequest) -> ChatAnswer:
        """Answer a question from the catalog and store the exchange."""
        question = request.question.strip()
        conversation_id = request.conversation_id
        if conversation_id is not None and not await db.conversation_exists(conversation_id):
            raise ApiError(
                f"conversation {conversation_id} not found", status=404, field="conversation_id"
            )
        ranked = await retriever.rank(question, await db.products())
        answer = compose_answer(question, ranked)
        sources = [product.sku for product, _ in ranked[:SOURCES]]
        conversation_id = conversation_id or uuid.uuid4()
        await db.record_exchange(conversation_id, question, answer, sources)
        return ChatAnswer(answer=answer, conversation_id=conversation_id, sources=sources)

    @app.get(
        "/api/conversations/{conversation_id}",
        operation_id="read_conversation",
        response_model=Conversation,
        responses={404: _NOT_FOUND, 422: _INVALID, 503: _DB_DOWN},
    )
    async def conversation(conversation_id: uuid.UUID) -> Conversation:
        """The stored exchange, in order."""
        messages = await db.messages(conversation_id)
        if messages is None:
            raise ApiError(f"conversation {conversation_id} not found", status=404)
        return Conversation(
            conversation_id=conversation_id,
            messages=[
                Message(role=m.role, content=m.content, sources=m.sources, created_at=m.created_at)  # type: ignore[arg-type]
                for m in messages
            ],
        )

    _install_error_handlers(app)
    app.state.db = db
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error(str(exc), exc.status, exc.field)

    @app.exception_handler(DatabaseUnavailable)
    async def db_unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return error(f"database unavailable: {exc.reason}", 503)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        location = tuple(first.get("loc", ()))
        kind = str(first.get("type", ""))
        if kind == "json_invalid":
            return error("request body must be JSON", 400)
        if location[:1] == ("body",) and len(location) == 1:
            return error("request body must be a JSON object", 400)
        field = str(location[1]) if len(location) > 1 else None
        template = _MESSAGES.get(kind)
        message = (
            template.format(field=field)
            if template and field
            else f"{field or 'request'}: {first.get('msg')}"
        )
        return error(message, 422, field)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error(str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error("internal error", 500)
