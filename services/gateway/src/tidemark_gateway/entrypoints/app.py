"""The gateway (FastAPI): dashboards as JSON under /v1, the web UI at /, live updates as SSE.

Stateless: every request reads the Redis read model for the caller's Trust only, and only the
schools the caller may see. The routes are in `routes/` (one router per area), what they depend on
in `deps`, the use cases in `service_layer`, built by `bootstrap`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from tidemark_gateway.adapters.table_files import XLSX_MEDIA_TYPE
from tidemark_gateway.bootstrap import Services, bootstrap
from tidemark_gateway.entrypoints.answers import KeptAnswers
from tidemark_gateway.entrypoints.deps import document_periods
from tidemark_gateway.entrypoints.errors import EXCEPTION_HANDLERS
from tidemark_gateway.entrypoints.accounts import ACCOUNT_HANDLERS
from tidemark_gateway.entrypoints.routes import (
    admin, attendance, audit, auth, board_pack, dashboards, health, ingest, live, reference, reports, ui,
)
from tidemark_gateway.settings import GatewaySettings
from tidemark_runtime.http import BodyLimit, SecurityHeaders, refusal
from tidemark_runtime.observability.http import instrument

GZIP_MINIMUM_BYTES = 1024
"""Smaller answers go as they are: compressing them saves less than it costs."""
GZIP_LEVEL = 6
"""zlib's default: most of level 9's saving on JSON, for about half its time."""
NOT_COMPRESSED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, XLSX_MEDIA_TYPE)
"""Starlette's list, which has `text/event-stream` (the live stream must reach the browser event by
event, never held back in a compressor), and Excel files (zip archives, compressed already)."""

DESCRIPTION = (
    "Trust dashboards from the live read model, and the Trust's accounts. A bearer API key (or the "
    "web UI's session cookie, with X-CSRF-Token on state-changing requests), scoped to one Trust and "
    "optionally to some of its schools: a school-scoped caller sees only its schools, and its All "
    "Pupils figures are pooled over those schools only. Percentages are unrounded; round them to one "
    "decimal place for display. Each operation states the permission it needs (roles: README). "
    "`/ingest/{path}` (not listed here) forwards the web UI's writes to ingest's `/{path}` (ingest's own API "
    "documents each, and checks its permission)."
)


def create_app(
    settings: GatewaySettings | None = None, *, build: Callable[[GatewaySettings], Services] = bootstrap
) -> FastAPI:
    settings = settings or GatewaySettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build(settings)
        app.state.services = services
        app.state.principals = services.principals
        # Everything built at start-up (FastAPI's routes and schemas, pydantic's validators) lives as
        # long as the process: freeze it, so that a full garbage collection does not walk it again
        # in the middle of a request (that cost up to 35 ms a time).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await services.aclose()

    app = FastAPI(
        title="Tidemark gateway API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
        exception_handlers={**EXCEPTION_HANDLERS, **ACCOUNT_HANDLERS},
        responses={503: refusal("Redis is unavailable, or this Trust's figures are being rebuilt after its read "
                                "model was lost (`Retry-After`)")},
    )
    for area in (health, ui, reports, dashboards, attendance, reference, board_pack, live, auth, admin, audit, ingest):
        app.include_router(area.router)
    app.state.settings = settings
    app.add_middleware(KeptAnswers)  # inside the body limit (the last added is the outermost)
    # Outside KeptAnswers, so that its kept answers are compressed too.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL,
                       exclude_content_types=NOT_COMPRESSED)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       by_prefix={ingest.PREFIX: settings.ingest_max_body_bytes})
    app.add_middleware(SecurityHeaders)
    instrument(app, "gateway")  # request ids, latency by route, traces, GET /metrics
    # FastAPI's documented way to extend the OpenAPI is to replace this method, which mypy refuses.
    app.openapi = document_periods(app, settings.assessment_periods)  # type: ignore[method-assign]
    return app
