"""Entry point: ``python -m contoso_web`` serves the site with uvicorn."""

import logging
import os

import uvicorn

from .app import create_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(),
        host=os.environ.get("WEB_HOST", "0.0.0.0"),  # inside the container only
        port=int(os.environ.get("WEB_PORT", "3000")),
        log_level=os.environ.get("WEB_LOG_LEVEL", "info"),
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    main()
