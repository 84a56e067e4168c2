"""Counter hashes read through an in-process cache that is never stale.

Every write of a counter hash bumps its number in the generation's `versions` hash, in the same
atomic write (`tidemark_runtime.projections.writer`). A read asks for the numbers of the hashes it needs
(one round trip), and fetches only those it does not hold at that number. During a lock burst
only the hashes being written are fetched again; a dashboard refresh fetches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from cachetools import LRUCache

from tidemark_gateway.adapters.answer_cache import ReadLog, versions_fields
from tidemark_gateway.domain.counter_arrays import REGISTRY, CounterHash
from tidemark_runtime.redis import RedisClient

MAX_CACHED_HASHES = 100_000
"""About 30 KB a hash at most; a 100-school Trust's three years of core measures are ~40,000 hashes."""


class CounterCache:
    def __init__(self, max_hashes: int = MAX_CACHED_HASHES) -> None:
        self._entries: LRUCache[str, tuple[str, CounterHash]] = LRUCache(maxsize=max_hashes)

    async def fetch(
        self, redis: RedisClient, versions_key: str, keys: Sequence[str], log: ReadLog | None = None
    ) -> list[CounterHash]:
        """The hashes at `keys` (empty where absent), and their versions into `log`. A hash without a
        version (written by hand, not by a projection) is always read afresh, and an answer that
        read one is not kept."""
        if not keys:
            return []
        replies = cast(list[str | None], await redis.hmget(versions_key, versions_fields(keys)))  # decode_responses: str
        if log is not None:
            log.read(versions_key, list(keys), replies)
        versions = replies[1:]
        found: dict[str, CounterHash] = {}
        stale: list[tuple[str, str | None]] = []
        for key, version in zip(keys, versions, strict=True):
            cached = self._entries.get(key)
            if version is not None and cached is not None and cached[0] == version:
                found[key] = cached[1]
            else:
                stale.append((key, version))
        if stale:
            async with redis.pipeline(transaction=False) as pipe:
                for key, _version in stale:
                    pipe.hgetall(key)
                hashes = await pipe.execute()
            for (key, version), fields in zip(stale, hashes, strict=True):
                if log is not None and version is None and fields:
                    log.cacheable = False
                parsed = REGISTRY.parse({field: int(pupils) for field, pupils in fields.items()})
                found[key] = parsed
                if version is not None and self._entries.maxsize:
                    self._entries[key] = (version, parsed)
        return [found[key] for key in keys]
