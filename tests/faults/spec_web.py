"""The real web (traced as in its image) with a fault no answer shows, for the trace
spec tests. Mounted by tests/compose/web-spec-faults.yml. FAULT_MODE:
  retry-storm  every question goes to chat three times; the last answer is returned
  swallow      a chat error (>= 500) becomes web's own well-shaped 200
  error-page   a chat error (>= 500) becomes web's own 200 HTML error page
  stall        web waits FAULT_DELAY seconds (default 30) before it calls chat
"""

import asyncio
import os
import sys
import uuid

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

import contoso_web.app
from contoso_web.__main__ import main

MODE = os.environ.get("FAULT_MODE", "")
if MODE not in ("retry-storm", "swallow", "error-page", "stall"):
    raise SystemExit(f"unknown FAULT_MODE {MODE!r}")
proxy = contoso_web.app.chat_service


async def retry_storm(request: Request) -> Response:
    for _ in range(2):
        await proxy(request)  # the body is read once and kept by Starlette
    return await proxy(request)


async def swallow(request: Request) -> Response:
    answered = await proxy(request)
    if answered.status_code < 500:
        return answered
    return JSONResponse(
        {
            "answer": "Sorry, our assistant is busy. Please try again in a moment.",
            "conversation_id": str(uuid.uuid4()),
            "sources": [],
            "scores": [],
        }
    )


async def error_page(request: Request) -> Response:
    answered = await proxy(request)
    if answered.status_code < 500:
        return answered
    return HTMLResponse("<h1>Something went wrong</h1><p>Please try again.</p>")


async def stall(request: Request) -> Response:
    await asyncio.sleep(float(os.environ.get("FAULT_DELAY", "30")))
    return await proxy(request)


contoso_web.app.chat_service = {
    "retry-storm": retry_storm,
    "swallow": swallow,
    "error-page": error_page,
    "stall": stall,
}[MODE]
sys.exit(main())
