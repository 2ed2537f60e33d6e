"""The real chat (traced as in its image) with faults patched in, for the blame
tests. Mounted by tests/compose/chat-faults.yml, so chat's code carries no test
switches. FAULT_MODE is a comma-separated list:
  raise   a question with FAULT_QUESTION in it (default: stargazing) raises
          RuntimeError inside chat's handler, saying FAULT_MESSAGE (backslash escapes
          such as \u202e decoded; default: catalog index corrupt)
  slow    retrieval sleeps FAULT_DELAY seconds (default 3) before ranking
  bare    every error answer is a bare status, no body
  chatty  with raise: right after raising, chat logs 500 lines that belong to no request
  no-deps chat serves no /health/dependencies route (404), db being fine
  malformed  chat's answer to a question says `Content-Encoding: gzip` over a plain
          body (its own span says 200; web cannot read it)
"""

import asyncio
import codecs
import logging
import os
import sys
import threading

from starlette.responses import Response

import contoso_chat.app
import contoso_chat.retrieval
from contoso_chat.__main__ import main

MODES = {mode.strip() for mode in os.environ.get("FAULT_MODE", "").split(",") if mode.strip()}
unknown = MODES - {"raise", "slow", "bare", "chatty", "no-deps", "malformed"}
if unknown:
    raise SystemExit(f"unknown FAULT_MODE {sorted(unknown)}")


def chatter() -> None:
    log = logging.getLogger("contoso_chat.chatter")
    for number in range(500):
        log.info("unrelated line %d", number)


if "raise" in MODES:
    compose_answer = contoso_chat.app.compose_answer
    trigger = os.environ.get("FAULT_QUESTION", "stargazing")

    def raising(question, ranked):  # type: ignore[no-untyped-def]
        if trigger in question:
            if "chatty" in MODES:
                threading.Thread(target=chatter).start()  # outside the request's trace
            key = os.environ.get("FAULT_SECRET")  # a secret a careless message carries
            said = codecs.decode(os.environ.get("FAULT_MESSAGE", ""), "unicode_escape")
            said = said or "catalog index corrupt"
            raise RuntimeError(said + (f" (key {key})" if key else ""))
        return compose_answer(question, ranked)

    contoso_chat.app.compose_answer = raising

if "slow" in MODES:
    rank = contoso_chat.retrieval.KeywordRetriever.rank
    delay = float(os.environ.get("FAULT_DELAY", "3"))

    async def slow_rank(self, question, products):  # type: ignore[no-untyped-def]
        await asyncio.sleep(delay)
        return await rank(self, question, products)

    contoso_chat.retrieval.KeywordRetriever.rank = slow_rank

if "bare" in MODES:
    answer = contoso_chat.app.answer

    def bare_answer(model, status=200):  # type: ignore[no-untyped-def]
        return Response(status_code=status) if status >= 400 else answer(model, status)

    contoso_chat.app.answer = bare_answer
    contoso_chat.app.error = lambda message, status, field=None: Response(status_code=status)

if "no-deps" in MODES:
    create_app = contoso_chat.app.create_app

    def without_dependencies(*args, **kwargs):  # type: ignore[no-untyped-def]
        app = create_app(*args, **kwargs)
        app.router.routes = [
            r for r in app.router.routes if getattr(r, "path", "") != "/health/dependencies"
        ]
        return app

    contoso_chat.app.create_app = without_dependencies

if "malformed" in MODES:
    create_answering_app = contoso_chat.app.create_app

    def mislabelled(*args, **kwargs):  # type: ignore[no-untyped-def]
        app = create_answering_app(*args, **kwargs)

        async def wrapped(scope, receive, send):  # type: ignore[no-untyped-def]
            if scope["type"] != "http" or scope["path"] != "/api/chat":
                return await app(scope, receive, send)

            async def sending(message):  # type: ignore[no-untyped-def]
                if message["type"] == "http.response.start":
                    headers = [*message["headers"], (b"content-encoding", b"gzip")]
                    message = {**message, "headers": headers}
                await send(message)

            return await app(scope, receive, sending)

        return wrapped

    contoso_chat.app.create_app = mislabelled

sys.exit(main())
