"""A web stand-in that proxies to the real chat and alters its answer, for the
contract-drift tests: the runbook's rule still holds ('answer' is a non-empty
string), only chat's published schema can tell. FAULT_MODE picks the drift:
  sources-string   sources becomes a string
  id-number        conversation_id becomes a number
  no-sources       sources disappears
Mounted into the web image by tests/compose/web-drift.yml.
"""

import os

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MODE = os.environ.get("FAULT_MODE", "sources-string")
CHAT_URL = os.environ.get("CHAT_URL", "http://chat:8000")


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "web"})


async def service(request: Request) -> JSONResponse:
    async with httpx.AsyncClient(timeout=15) as client:
        upstream = await client.post(
            f"{CHAT_URL}/api/chat",
            content=await request.body(),
            headers={"content-type": "application/json"},
        )
    body = upstream.json()
    if MODE == "sources-string":
        body["sources"] = ", ".join(body.get("sources", []))
    elif MODE == "id-number":
        body["conversation_id"] = 42
    elif MODE == "no-sources":
        body.pop("sources", None)
    else:
        raise SystemExit(f"unknown FAULT_MODE {MODE!r}")
    return JSONResponse(body, status_code=upstream.status_code)


app = Starlette(
    routes=[Route("/health", health), Route("/api/chat/service", service, methods=["POST"])]
)

if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=3000, log_level="info")
