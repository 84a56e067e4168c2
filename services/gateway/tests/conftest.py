"""Fixtures: the gateway against a real Redis (the `redis_url` fixture of tidemark_runtime.testing),
its read model written with the shared `Keyspace` and `encode_field` under a fresh prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tidemark_gateway.testing import Gateway, gateway_settings, in_process


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    """A fresh key prefix, deleted afterwards."""
    name = f"gw{uuid.uuid4().hex[:10]}"
    yield name
    async for key in redis.scan_iter(match=f"{name}*"):  # every generation too
        await redis.delete(key)


@pytest.fixture
async def gateway(redis_url: str, redis: Redis, prefix: str) -> AsyncIterator[Gateway]:
    """The app with its lifespan running (built by `bootstrap`), called in-process through ASGI."""
    async with in_process(gateway_settings(redis_url, prefix), redis) as running:
        yield running
