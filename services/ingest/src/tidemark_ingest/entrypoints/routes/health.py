"""GET /healthz (liveness), /readyz (readiness) and /status (the outbox): no token needed."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tidemark_ingest.entrypoints.deps import ServicesDep
from tidemark_runtime.readiness import ReadinessReport, verdict

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Status(BaseModel):
    outbox_backlog: int = Field(description="Events stored but not yet on Kafka")
    oldest_unpublished_seconds: float | None = Field(
        description="How long the oldest of them has waited; null when every event is on Kafka"
    )
    published: int = Field(description="Events this process's relay has published since it started")
    topics_restored: int = Field(description="Topics the relay created again since it started (a broker that lost them)")


@router.get("/healthz")
async def health() -> Health:
    """Alive: the process serves requests. Asks nothing else: restarting ingest would not bring a
    database or a broker back (that is `/readyz`). No token needed."""
    return Health()


@router.get(
    "/readyz",
    response_model=ReadinessReport,
    responses={503: {"model": ReadinessReport, "description": "Not ready: the checks that are not `ok` say why"}},
)
async def ready(built: ServicesDep) -> JSONResponse:
    """Ready when PostgreSQL answers, the broker answers and has the tracker topics, and the outbox
    relay runs with nothing waiting longer than READY_MAX_OUTBOX_AGE_SECONDS. No token needed."""
    code, body = verdict(await built.readiness.checks())
    return JSONResponse(body, status_code=code)


@router.get("/status")
async def status(built: ServicesDep) -> Status:
    """The outbox: how many events wait for Kafka, for how long, and what the relay has done. No
    token needed."""
    relay = built.relay
    age = await relay.oldest_unpublished_age()
    return Status(
        outbox_backlog=await relay.backlog(),
        oldest_unpublished_seconds=None if age is None else round(age.total_seconds(), 3),
        published=relay.published,
        topics_restored=relay.topics_restored,
    )
