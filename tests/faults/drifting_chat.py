"""A chat stand-in that breaks the response contract, for fault-injection tests.

Mounted into the chat image by a compose override, so the real chat code
carries no test switches. FAULT_MODE picks the drift:
  renamed     the answer under another field name
  not-string  the answer is a number
  not-json    a body that is not JSON
  empty       an empty answer
  status-500  the proxied call fails with 500
  slow        answers after FAULT_DELAY seconds
  plain-health  /health answers a plain `OK`; questions are answered right
  dangling-ref  /openapi.json's answer schema has a $ref to nowhere; answers right
  hostile     logs and answers (500) text that tries to write workflow commands,
              split lines and drive the terminal
"""

import asyncio
import os

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

MODE = os.environ.get("FAULT_MODE", "renamed")
# Each tries to start a line of its own with a GitHub workflow command, or acts
# anywhere in a line (`##[...]`), or drives the terminal (ANSI).
HOSTILE = (
    "a\r::error::cr-injected",
    "b\v::error::vt-injected",
    "c\f::warning::ff-injected",
    "d\u2028::error::ls-injected",
    "e\u0085::error::nel-injected",
    "chat says ##[warning]mid-line-injected",
    "\x1b[2J\x1b[31mansi-injected\x1b[0m",
)


async def health(request: Request) -> Response:
    if MODE == "plain-health":
        return PlainTextResponse("OK")
    return JSONResponse({"status": "ok", "service": "chat", "stack": "minimal"})


async def openapi(request: Request) -> Response:
    if MODE != "dangling-ref":
        return JSONResponse({"error": "Not Found"}, status_code=404)
    answer = {"$ref": "#/components/schemas/NoSuchSchema"}
    content = {"application/json": {"schema": answer}}
    operation = {"post": {"responses": {"200": {"content": content}}}}
    return JSONResponse({"openapi": "3.1.0", "paths": {"/api/chat": operation}})


async def dependencies(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "dependencies": {"db": {"status": "ok", "latency_ms": 1}}})


async def chat(request: Request) -> Response:
    if MODE in ("plain-health", "dangling-ref"):
        return JSONResponse(
            {"answer": "Try the SkyView tent.", "conversation_id": "c", "sources": []}
        )
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
    if MODE == "hostile":
        return PlainTextResponse("\n".join(HOSTILE), status_code=500)
    if MODE == "slow":
        await asyncio.sleep(float(os.environ.get("FAULT_DELAY", "30")))
        return JSONResponse({"answer": "late"})
    raise SystemExit(f"unknown FAULT_MODE {MODE!r}")


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/health/dependencies", dependencies),
        Route("/openapi.json", openapi),
        Route("/api/chat", chat, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    if MODE == "hostile":
        for line in HOSTILE:
            print(line, flush=True)
    uvicorn.run(app, host="0.0.0.0", port=8000, log_level="info")
