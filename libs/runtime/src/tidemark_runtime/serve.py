"""Run any Tidemark service's ASGI app under uvicorn with its settings (each service's console script)."""

from __future__ import annotations

import logging
from typing import Any

import uvicorn

from tidemark_runtime.settings import ServiceSettings


def serve(app: Any, settings: ServiceSettings, *, loop: str = "asyncio", http: str = "h11") -> None:
    """Serve `app`. The event loop and HTTP parser are asyncio's and h11 unless the service asks
    for others ("auto": uvloop and httptools when installed, as the gateway does)."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # A short graceful shutdown: open live (SSE) connections never end by themselves.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,
        loop=loop,
        http=http,
    )
