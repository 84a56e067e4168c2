"""`tidemark-gateway`: serve the gateway API, web UI and live updates with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,  # live (SSE) connections never end by themselves
    )


if __name__ == "__main__":
    main()
