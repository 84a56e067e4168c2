"""Rebuild: recompute a Trust's aggregates from the SQL store into a fresh generation, then switch.

1. Register a new generation as *being built*: from then on, every batch the consumers apply is
   written to it as well as to the live one.
2. Replay every fact's latest snapshot from the SQL store into it. Each fact carries its version,
   so replayed and live events meet in any order and the newest snapshot wins (the property the
   aggregate tests prove). A fact committed before step 1 is in the replay (it is in SQL before it
   is published); one committed after is applied by the consumers.
3. Check the new generation against its own pupil states (reconcile), and count how far the live
   generation is from it. Switch readers over only if the new one is consistent.
4. Announce the switch on the change stream (live pages refresh) and, after a grace period for
   reads already under way, delete the previous generation.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from tidemark_metrics.adapters.redis_store import AggregateStore, TrustBatch
from tidemark_metrics.reconcile import Mismatch, differences, rebased, reconcile, stored_counters
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.events import TrackerEvent

REBUILT = "*"
"""The `measures` of the change notice that announces a switch: everything may have changed."""


class RebuildFailed(RuntimeError):
    """The new generation did not reconcile, or was abandoned while it was being built."""


@dataclass(frozen=True)
class RebuildReport:
    trust_id: str
    generation: str
    previous: str
    events: int
    pupils: int
    counters: int
    differences_from_previous: list[Mismatch]
    """Counters where the previous (live) generation differed from the rebuilt one."""
    seconds: float


def new_generation() -> str:
    """Sortable by time, unique across concurrent rebuilds."""
    return f"r{datetime.now(UTC):%Y%m%dT%H%M%S}{secrets.token_hex(2)}"


async def rebuild_trust(
    redis: Redis,
    store: AggregateStore,
    keys: Keyspace,
    facts: AsyncIterable[Sequence[TrackerEvent]],
    grace_seconds: float = 5.0,
    keep_previous: bool = False,
) -> RebuildReport:
    """Rebuild one Trust (`keys` of any generation) from `facts`, switch, and drop the previous one."""
    started = time.perf_counter()
    generation = new_generation()
    target = keys.at(generation)
    await redis.sadd(keys.building_key, generation)
    events = 0
    try:
        async for chunk in facts:
            events += len(chunk)
            if await store.apply_to(target, TrustBatch.of(chunk)) is None:
                raise RebuildFailed(f"generation {generation} stopped being built (removed from {keys.building_key})")
        check = await reconcile(redis, target)
        if not check.consistent:
            raise RebuildFailed(f"the rebuilt generation does not reconcile: {len(check.mismatches)} counters differ")
        previous = _text(await redis.get(keys.generation_key)) or ""
        live = keys.at(previous)
        drift = differences(
            await stored_counters(redis, live), rebased(await stored_counters(redis, target), target, live)
        )
        await _switch(redis, target, previous)
    except BaseException:
        await redis.srem(keys.building_key, generation)
        await drop_generation(redis, target)
        raise
    if not keep_previous:
        await asyncio.sleep(grace_seconds)
        await drop_generation(redis, keys.at(previous))
    return RebuildReport(
        keys.trust_id, generation, previous, events, check.pupils, check.counters, drift, time.perf_counter() - started
    )


async def _switch(redis: Redis, target: Keyspace, previous: str) -> None:
    """Readers move to `target` at once; the switch is announced to live pages."""
    schools = sorted(_text(school) for school in await redis.hkeys(target.schools))
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(target.generation_key, target.generation)
        pipe.srem(target.building_key, target.generation)
        pipe.xadd(target.changes, {"academic_year": "", "period": "", "measures": REBUILT, "schools": ",".join(schools)},
                  maxlen=10000, approximate=True)
        await pipe.execute()


async def drop_generation(redis: Redis, keys: Keyspace) -> int:
    """Delete every key of one generation (never the Trust's generation keys or change stream)."""
    deleted = 0
    for pattern in keys.data_patterns:
        batch: list[bytes | str] = []
        async for key in redis.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await redis.unlink(*batch)
                batch = []
        if batch:
            deleted += await redis.unlink(*batch)
    return deleted


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")
