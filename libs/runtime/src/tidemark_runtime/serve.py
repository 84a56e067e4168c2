"""Run any Tidemark service's ASGI app under uvicorn with its settings (each service's console script)."""

from __future__ import annotations

from typing import Any

import uvicorn

from tidemark_runtime.observability.http import service_of
from tidemark_runtime.observability.logs import configure_logging
from tidemark_runtime.observability.tracing import configure_tracing
from tidemark_runtime.settings import ServiceSettings


def serve(app: Any, settings: ServiceSettings, *, loop: str = "asyncio", http: str = "h11") -> None:
    """Serve `app`; the process's logs (LOG_FORMAT) and traces (TRACE_EXPORTER) are set up first,
    named after the service the app was instrumented as. The event loop and HTTP parser are
    asyncio's and h11 unless the service asks for others ("auto": uvloop and httptools when
    installed, as the gateway does)."""
    service = service_of(app)
    configure_logging(settings, service)
    configure_tracing(settings, service)
    # A short graceful shutdown: open live (SSE) connections never end by themselves. uvicorn's own
    # loggers (errors, access lines) go through the root handler above: one format for every line.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,
        timeout_graceful_shutdown=5,
        loop=loop,
        http=http,
    )
