"""The real chat, with one bug added for the fuzzing tests: a question holding any
non-ASCII character gets a 500, as if an encoding step crashed. Everything else,
its schema included, is chat's own. Mounted by tests/compose/chat-fragile.yml."""

import json

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contoso_chat.app import create_app


def fragile(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/chat":
            await app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        try:
            question = json.loads(body).get("question", "")
        except (ValueError, AttributeError):
            question = ""
        if isinstance(question, str) and not question.isascii():
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"Internal Server Error"})
            return

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)

    return wrapped


if __name__ == "__main__":
    uvicorn.run(fragile(create_app()), host="0.0.0.0", port=8000, log_level="info")
