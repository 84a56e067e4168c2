"""GET /healthz: no token needed."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tidemark_ingest.entrypoints.deps import ServicesDep

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    outbox_backlog: int = Field(description="Events stored but not yet on Kafka")
    published: int = Field(description="Events this process's relay has published since it started")


@router.get("/healthz")
async def health(built: ServicesDep) -> Health:
    """Liveness plus the outbox backlog (events stored but not yet on Kafka). No token needed."""
    return Health(outbox_backlog=await built.relay.backlog(), published=built.relay.published)
