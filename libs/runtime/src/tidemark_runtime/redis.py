"""The one way every Tidemark process connects to Redis: a single server or a Redis Cluster.

`REDIS_CLUSTER=true` with `REDIS_URL` naming any node of the cluster selects the cluster client,
which learns the other nodes from that one. Both clients speak the same commands for what Tidemark
does, because every key of one Trust carries the Trust's hash tag (`Keyspace`, `{trust}`), so one
Trust lives in one slot: every script declares its keys and every multi-key command and
transaction stays within one Trust.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.crc import key_slot

RedisClient: TypeAlias = Redis | RedisCluster
"""Either client: code that reads or writes projections accepts both."""


class RedisSettings(Protocol):
    """The settings `connect` reads (every `PlatformSettings` has them)."""

    redis_url: str
    redis_cluster: bool


def connect(settings: RedisSettings, **options: Any) -> RedisClient:
    """A client for the configured Redis: `RedisCluster` when `redis_cluster` is set, else `Redis`.
    Options (e.g. `decode_responses=True`) go to either client."""
    return connect_url(settings.redis_url, cluster=settings.redis_cluster, **options)


def connect_url(url: str, cluster: bool = False, **options: Any) -> RedisClient:
    if cluster:
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options)


def by_slot(keys: Iterable[bytes | str]) -> list[list[bytes | str]]:
    """Keys grouped by cluster slot, in first-seen order: a multi-key command (UNLINK, DEL, ...)
    must name keys of one slot in a cluster, and one call per group is as good on a single server."""
    groups: dict[int, list[bytes | str]] = defaultdict(list)
    for key in keys:
        groups[key_slot(key.encode() if isinstance(key, str) else key)].append(key)
    return list(groups.values())
