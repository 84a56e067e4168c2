"""The ingest HTTP API (FastAPI): schools, pupils, entered summative and statutory results, locks
and unlocks from a school tracker, and the replay projections rebuild from.

Every write is a batch validated whole: one bad row rejects the batch with a 422 listing every
bad row, field and reason. Accepted changes and their events commit in one transaction. The routes
are in `routes/` (one router per area), what they depend on in `deps`, the refusals in `errors`, the
use cases in `service_layer`, built by `bootstrap`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from tidemark_ingest.bootstrap import Services, bootstrap
from tidemark_ingest.entrypoints.errors import EXCEPTION_HANDLERS
from tidemark_ingest.entrypoints.routes import attendance, calendar, entry, health, imports, replay, tracker
from tidemark_ingest.settings import IngestSettings
from tidemark_runtime.http import BodyLimit
from tidemark_runtime.observability.http import instrument
from tidemark_runtime.observability.metrics import set_outbox

DESCRIPTION = (
    "Takes schools, pupils, summative and statutory results and register marks from a school tracker. Bearer token "
    "scoped to one Trust. Batches are validated whole: 422 lists every bad row, field and reason and "
    "nothing from the batch is stored; re-sending an identical batch changes nothing."
)


def create_app(
    settings: IngestSettings | None = None,
    *,
    build: Callable[[IngestSettings], AbstractAsyncContextManager[Services]] = bootstrap,
) -> FastAPI:
    settings = settings or IngestSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with build(settings) as services:
            app.state.services = services
            app.state.principals = services.principals
            # Everything built at start-up lives as long as the process: freeze it, so that the full
            # collections a big batch sets off (its rows, states and events are many objects) do not
            # walk it again each time (they took a third of a 20,000-row batch's time).
            gc.collect()
            gc.freeze()
            yield

    app = FastAPI(title="Tidemark ingest API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
                  exception_handlers=EXCEPTION_HANDLERS)
    for area in (health, tracker, entry, attendance, calendar, imports, replay):
        app.include_router(area.router)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    async def outbox_gauges() -> None:
        relay = app.state.services.relay
        set_outbox(await relay.backlog(), await relay.oldest_unpublished_age())

    instrument(app, "ingest", refreshers=[outbox_gauges])  # request ids, latency by route, traces, GET /metrics
    return app
