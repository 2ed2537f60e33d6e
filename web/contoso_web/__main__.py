"""Entry point: ``python -m contoso_web`` serves the site with uvicorn, traced when
SMOKE_TRACE_EXPORT says where spans go (``contoso_telemetry``)."""

import logging
import os

import uvicorn

import contoso_telemetry

from .app import create_app


def main() -> None:
    contoso_telemetry.setup("web")
    logging.basicConfig(level=logging.INFO, format=contoso_telemetry.LOG_FORMAT)
    uvicorn.run(
        contoso_telemetry.server(create_app(instrument=contoso_telemetry.instrument_httpx)),
        host=os.environ.get("WEB_HOST", "0.0.0.0"),  # inside the container only
        port=int(os.environ.get("WEB_PORT", "3000")),
        log_level=os.environ.get("WEB_LOG_LEVEL", "info"),
        log_config=contoso_telemetry.uvicorn_logging(),
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    main()
