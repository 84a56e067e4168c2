"""GET /healthz (liveness) and /readyz (readiness): no token needed."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel
from redis.exceptions import RedisError

from tidemark_gateway.entrypoints.deps import ServicesDep
from tidemark_runtime.http import refusal

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("/healthz")
async def health() -> Health:
    """Alive: the process serves requests (restarting it would not bring Redis back). No token needed."""
    return Health()


@router.get("/readyz", responses={503: refusal("Redis does not answer")})
async def ready(built: ServicesDep) -> Health:
    """Ready when Redis answers a PING (the gateway has no other state; a Trust whose read model is
    being restored answers 503 on its own requests). No token needed."""
    try:
        async with asyncio.timeout(2.0):
            await built.read_model.ping()
    except (RedisError, OSError, TimeoutError) as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Redis does not answer") from error
    return Health()
