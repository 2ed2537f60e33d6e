"""HTTP surface of the web service.

GET  /                   a small page to ask a question (for kept debugging stacks)
GET  /health             liveness
POST /api/chat/service   forwards the JSON body to chat's POST /api/chat and returns
                         chat's status and body unchanged; 502 when chat cannot be
                         reached, 504 when it is too slow. Errors are always JSON.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files

import httpx
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

import contoso_telemetry

log = logging.getLogger("contoso_web")


@dataclass(frozen=True)
class Settings:
    chat_url: str
    chat_timeout_seconds: float

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            chat_url=os.environ.get("CHAT_URL", "http://chat:8000").rstrip("/"),
            chat_timeout_seconds=float(os.environ.get("WEB_CHAT_TIMEOUT_SECONDS", "15")),
        )


def error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def index(request: Request) -> HTMLResponse:
    return HTMLResponse(files("contoso_web").joinpath("index.html").read_text("utf-8"))


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "web"})


async def chat_service(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.client
    target = f"{settings.chat_url}/api/chat"
    try:
        upstream = await client.post(
            target,
            content=await request.body(),
            headers={"content-type": request.headers.get("content-type", "application/json")},
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        cause = _on_span(exc, target)
        return error(f"chat unreachable at {settings.chat_url}: {cause}", 502)
    except httpx.TimeoutException as exc:
        _on_span(exc, target)
        return error(f"chat did not answer within {settings.chat_timeout_seconds:g}s", 504)
    except httpx.TransportError as exc:
        return error(f"chat connection failed: {_on_span(exc, target)}", 502)
    # Chat's answer goes back as it came: the smoke checks the contract end to end.
    return Response(
        upstream.content,
        status_code=upstream.status_code,
        media_type=upstream.headers.get("content-type", "application/json"),
    )


def root_cause(exc: BaseException) -> str:
    """What the socket said, under httpx's and anyio's wrappers ("All connection
    attempts failed"): e.g. "connection refused", "name or service not known",
    "SSL: WRONG_VERSION_NUMBER"; else the exception itself. An error number is said by
    its meaning: a resolver's (-2) or TLS's (1) is no errno of the OS."""
    seen: BaseException | None = exc
    for _ in range(10):  # a chain of causes; bounded all the same
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return f"SSL: {seen.reason}" if seen.reason else str(seen)
        if isinstance(seen, socket.gaierror):
            return (seen.strerror or "name resolution failed").lower()
        if isinstance(seen, OSError) and seen.errno and seen.errno > 0:
            return os.strerror(seen.errno).lower()  # asyncio's own strerror names the peer
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


def _on_span(exc: BaseException, target: str) -> str:
    """The request's span says why chat could not be reached, and where."""
    cause = root_cause(exc)
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("error.cause", cause)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{cause} ({target})"))
    return cause


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error(exc.detail, exc.status_code)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    contoso_telemetry.record_failure(exc)
    return error("internal error", 500)


def create_app(
    settings: Settings | None = None,
    *,
    instrument: Callable[[httpx.AsyncClient], None] = lambda client: None,
) -> Starlette:
    """``instrument`` is given the client web calls chat with (for its spans)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.chat_timeout_seconds) as client:
            instrument(client)
            app.state.client = client
            yield

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/health", health),
            Route("/api/chat/service", chat_service, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
