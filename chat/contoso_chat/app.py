"""HTTP API of the chat service, on Starlette, with pydantic models for every body.

GET  /health                   liveness, the stack and its model; never touches db
GET  /health/dependencies      200 only when db can serve a question, else 503 + reason
POST /api/chat                 {"question", "conversation_id"?} -> answer + sources
GET  /api/conversations/{id}   the stored exchange, 404 when unknown
GET  /openapi.json             chat's contract, generated from ``OPERATIONS`` and ``models``

Every error is JSON, ``{"error": ..., "field"?: ...}``, and documented in the contract.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import contoso_telemetry

from .catalog import compose_answer
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
from .openapi import Operation, Reply, document
from .retrieval import Retriever, make_retriever
from .settings import Settings

log = logging.getLogger("contoso_chat")
tracer = trace.get_tracer("contoso_chat")
SOURCES = 3
VERSION = "1.0.0"

# The contract: every operation, with what each status means and carries.
_BAD_BODY = Reply(ErrorBody, "The body is not a JSON object.")
_INVALID = Reply(ErrorBody, "A field is invalid; `field` names it.")
_NOT_FOUND = Reply(ErrorBody, "No such conversation.")
_DB_DOWN = Reply(ErrorBody, "db cannot serve right now; retry later.")
OPERATIONS = (
    Operation(
        "GET",
        "/health",
        "health",
        "Liveness: chat itself is up. Reports the stack, and its model if any.",
        {200: Reply(Health, "chat is up.")},
    ),
    Operation(
        "GET",
        "/health/dependencies",
        "dependencies",
        "Ready: db answers on chat's own connection and the catalog is seeded.",
        {
            200: Reply(DependencyHealth, "db can serve a question."),
            503: Reply(DependencyHealth, "db cannot serve; the reason says why."),
        },
    ),
    Operation(
        "POST",
        "/api/chat",
        "ask",
        "Answer a question from the catalog and store the exchange.",
        {
            200: Reply(
                ChatAnswer,
                "The answer, and the conversation it is stored in.",
                # The answer's conversation can be read back: a link clients (and
                # Schemathesis) follow.
                links={
                    "ReadConversation": {
                        "operationId": "read_conversation",
                        "parameters": {"conversation_id": "$response.body#/conversation_id"},
                    }
                },
            ),
            400: _BAD_BODY,
            404: _NOT_FOUND,
            422: _INVALID,
            503: _DB_DOWN,
        },
        request=ChatRequest,
    ),
    Operation(
        "GET",
        "/api/conversations/{conversation_id}",
        "read_conversation",
        "The stored exchange, in order.",
        {
            200: Reply(Conversation, "The conversation."),
            404: _NOT_FOUND,
            422: _INVALID,
            503: _DB_DOWN,
        },
        path_parameters={"conversation_id": {"type": "string", "format": "uuid"}},
    ),
)

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


def answer(model: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json", exclude_none=True), status_code=status)


def error(message: str, status: int, field: str | None = None) -> JSONResponse:
    return answer(ErrorBody(error=message, field=field), status)


def invalid(details: ErrorDetails, field: str | None) -> ApiError:
    template = _MESSAGES.get(details["type"])
    if template and field:
        return ApiError(template.format(field=field), status=422, field=field)
    return ApiError(f"{field or 'request'}: {details['msg']}", status=422, field=field)


def parse_question(body: bytes) -> ChatRequest:
    """The request, validated; a body that is not a JSON object is a 400."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError("request body must be JSON", status=400) from None
    if not isinstance(data, dict):
        raise ApiError("request body must be a JSON object", status=400)
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = first["loc"]
        raise invalid(first, str(location[0]) if location else None) from None


def db_state_on_span(exc: DatabaseUnavailable) -> None:
    """The request's span carries db's state as its error: a db outage is blamed from
    the trace even when no query ran (chat fails at once while db is down)."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    attributes: dict[str, str | float] = {"db.state": "unavailable", "db.state.reason": exc.reason}
    if exc.since is not None:
        attributes["db.state.since"] = datetime.fromtimestamp(exc.since, UTC).isoformat()
        attributes["db.state.unavailable_seconds"] = round(max(0.0, time.time() - exc.since), 1)
    span.set_attributes(attributes)
    span.set_status(trace.Status(trace.StatusCode.ERROR, f"db unavailable: {exc.reason}"))


def create_app(
    settings: Settings | None = None,
    *,
    retriever: Retriever | None = None,
    on_driver: Callable[[], None] = lambda: None,
) -> Starlette:
    """``on_driver`` runs once psycopg is imported (chat imports it late, off the loop)."""
    settings = settings or Settings.from_env()
    retriever = retriever or make_retriever(settings)
    db = Database(settings, retriever, on_driver=on_driver)
    contract: dict[str, Any] = {}

    async def health(request: Request) -> JSONResponse:
        return answer(
            Health(
                status="ok",
                service="chat",
                stack="local" if retriever.stack == "local" else "minimal",
                model=retriever.model,
                dimension=retriever.dimension,
            )
        )

    async def health_dependencies(request: Request) -> JSONResponse:
        try:
            checked = await db.check()
        except DatabaseUnavailable as exc:
            db_state_on_span(exc)
            db_state = DbDependency(
                status="error", reason=exc.reason, transient=exc.transient, detail=exc.detail
            )
            body = DependencyHealth(status="error", dependencies=Dependencies(db=db_state))
            return answer(body, 503)
        db_state = DbDependency(
            status="ok", latency_ms=round(checked.latency_ms, 2), products=checked.products
        )
        return answer(DependencyHealth(status="ok", dependencies=Dependencies(db=db_state)))

    async def chat(request: Request) -> JSONResponse:
        asked = parse_question(await request.body())
        question = asked.question.strip()
        conversation_id = asked.conversation_id
        if conversation_id is not None and not await db.conversation_exists(conversation_id):
            raise ApiError(
                f"conversation {conversation_id} not found", status=404, field="conversation_id"
            )
        products = await db.products()
        with tracer.start_as_current_span("retrieval") as span:
            span.set_attribute("retrieval.ranker", type(retriever).__name__)
            if retriever.model:
                span.set_attribute("retrieval.model", retriever.model)
            ranked = await retriever.rank(question, products)
            if ranked:
                span.set_attribute("retrieval.top_score", round(ranked[0][1], 4))
        text = compose_answer(question, ranked)
        sources = [product.sku for product, _ in ranked[:SOURCES]]
        scores = [round(score, 4) for _, score in ranked[:SOURCES]]
        conversation_id = conversation_id or uuid.uuid4()
        await db.record_exchange(conversation_id, question, text, sources)
        return answer(
            ChatAnswer(answer=text, conversation_id=conversation_id, sources=sources, scores=scores)
        )

    async def conversation(request: Request) -> JSONResponse:
        try:
            conversation_id = uuid.UUID(request.path_params["conversation_id"])
        except ValueError:
            raise ApiError(
                "conversation_id must be a UUID", status=422, field="conversation_id"
            ) from None
        messages = await db.messages(conversation_id)
        if messages is None:
            raise ApiError(f"conversation {conversation_id} not found", status=404)
        return answer(
            Conversation(
                conversation_id=conversation_id,
                messages=[
                    Message(
                        role=m.role, content=m.content, sources=m.sources, created_at=m.created_at
                    )  # type: ignore[arg-type]
                    for m in messages
                ],
            )
        )

    async def openapi(request: Request) -> JSONResponse:
        if not contract:  # built on first use: chat starts without paying for it
            contract.update(
                document(
                    OPERATIONS,
                    title="Contoso chat",
                    version=VERSION,
                    description="Answers product questions from a catalog kept in PostgreSQL.",
                )
            )
        return JSONResponse(contract)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db.start()  # connects and seeds in the background: /health answers at once
        yield
        await db.stop()

    handlers = {
        "health": health,
        "dependencies": health_dependencies,
        "ask": chat,
        "read_conversation": conversation,
    }
    routes = [Route(o.path, handlers[o.operation_id], methods=[o.method]) for o in OPERATIONS]
    app = Starlette(
        routes=[*routes, Route("/openapi.json", openapi, methods=["GET"])],
        exception_handlers={
            ApiError: _api_error,
            DatabaseUnavailable: _db_unavailable,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.db = db
    return app


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error(str(exc), exc.status, exc.field)


async def _db_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatabaseUnavailable)
    db_state_on_span(exc)
    return error(f"database unavailable: {exc.reason}", 503)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error(str(exc.detail), exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    contoso_telemetry.record_failure(exc)
    return error("internal error", 500)
