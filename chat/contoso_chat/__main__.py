"""Entry point: ``python -m contoso_chat`` serves the API with uvicorn.

With the local stack, the embedding model is checked and loaded before serving (while
the web framework is imported): a missing or corrupt model file stops chat at once,
with one line naming it.
"""

import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import contoso_telemetry

from .embeddings import ModelFileError
from .retrieval import load_retriever
from .settings import Settings


def main() -> int:
    contoso_telemetry.setup("chat")
    logging.basicConfig(level=logging.INFO, format=contoso_telemetry.LOG_FORMAT)
    try:
        settings = Settings.from_env()
        with ThreadPoolExecutor(max_workers=1) as pool:
            # The model's runtime is imported first and alone (two threads importing at
            # once only take turns on the GIL); its session is built on the pool,
            # without the GIL, while the web framework is imported.
            loaded = load_retriever(settings, pool)
            import uvicorn

            from .app import create_app

            retriever = loaded()
    except (ModelFileError, ValueError) as exc:  # refuse to start, in one line
        print(f"chat: fatal: {exc}", file=sys.stderr, flush=True)
        return 1
    app = create_app(settings, retriever=retriever, on_driver=contoso_telemetry.instrument_psycopg)
    uvicorn.run(
        contoso_telemetry.server(app),
        host=os.environ.get("CHAT_HOST", "0.0.0.0"),  # inside the container only
        port=int(os.environ.get("CHAT_PORT", "8000")),
        log_level=os.environ.get("CHAT_LOG_LEVEL", "info"),
        log_config=contoso_telemetry.uvicorn_logging(),
        timeout_graceful_shutdown=2,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
