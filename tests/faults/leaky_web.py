"""The real web (traced as in its image) with a careless proxy route: it prints its
WEB_API_TOKEN as it is, JSON-escaped, URL-encoded and inside a `Basic` header, in its
log, on its request's span and in the 500 body it answers. Mounted by
tests/compose/web-leaks-token.yml."""

import base64
import json
import logging
import os
import sys
from urllib.parse import quote, quote_plus

from opentelemetry import trace
from starlette.requests import Request
from starlette.responses import JSONResponse

import contoso_web.app
from contoso_web.__main__ import main

TOKEN = os.environ["WEB_API_TOKEN"]
FORMS = {
    "raw": TOKEN,
    "json": json.dumps(TOKEN)[1:-1],
    "url": quote(TOKEN, safe=""),
    "form": quote_plus(TOKEN),
    "basic": "Basic " + base64.b64encode(f"svc:{TOKEN}".encode()).decode(),
}
log = logging.getLogger("contoso_web.leaky")


async def leaky_service(request: Request) -> JSONResponse:
    for name, form in FORMS.items():
        log.info("calling chat with the %s token %s", name, form)
    log.info("GET /search?q=lamps&token=%s", FORMS["url"])
    log.info('settings {"token": %s}', json.dumps(TOKEN))
    span = trace.get_current_span()
    for name, form in FORMS.items():
        span.set_attribute(f"token.{name}", form)
    span.set_status(trace.Status(trace.StatusCode.ERROR, f"chat refused {FORMS['basic']}"))
    return JSONResponse({"error": f"chat refused token {TOKEN}", **FORMS}, status_code=500)


contoso_web.app.chat_service = leaky_service
sys.exit(main())
