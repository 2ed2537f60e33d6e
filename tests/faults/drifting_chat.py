"""A chat stand-in that breaks the response contract, for fault-injection tests.

Mounted into the chat image by a compose override, so the real chat code
carries no test switches. FAULT_MODE picks the drift:
  renamed     the answer under another field name
  not-string  the answer is a number
  not-json    a body that is not JSON
  empty       an empty answer
  status-500  the proxied call fails with 500
  slow        answers after FAULT_DELAY seconds
"""

import asyncio
import os

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

MODE = os.environ.get("FAULT_MODE", "renamed")


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "chat", "stack": "minimal"})


async def dependencies(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "dependencies": {"db": {"status": "ok", "latency_ms": 1}}})


async def chat(request: Request) -> Response:
    if MODE == "renamed":
        return JSONResponse({"reply": "Try the SkyView tent.", "conversation_id": "x"})
    if MODE == "not-string":
        return JSONResponse({"answer": 42})
    if MODE == "not-json":
        return PlainTextResponse("<html>oops</html>", media_type="text/html")
    if MODE == "empty":
        return JSONResponse({"answer": ""})
    if MODE == "status-500":
        return JSONResponse({"error": "upstream exploded"}, status_code=500)
    if MODE == "slow":
        await asyncio.sleep(float(os.environ.get("FAULT_DELAY", "30")))
        return JSONResponse({"answer": "late"})
    raise SystemExit(f"unknown FAULT_MODE {MODE!r}")


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/health/dependencies", dependencies),
        Route("/api/chat", chat, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8000, log_level="info")
