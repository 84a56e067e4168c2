"""Reconcile: do the counters equal what the per-pupil states say they should be?

Every pupil state records exactly which counters the pupil adds one to, so summing those records
recomputes every counter independently of the incremental path. A difference means a bug or a
write from outside Tidemark; the report names each counter and both values.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from tidemark_metrics.domain.pupil_state import Contribution, parse_contribution
from tidemark_schemas.aggregates import ROLL_MEASURE, Keyspace

CounterKey = tuple[str, str]
"""(Redis key, field)"""


def expected_counters(keys: Keyspace, contributions: Iterable[Contribution]) -> Counter[CounterKey]:
    """The counters implied by the pupils' recorded contributions (pure)."""
    expected: Counter[CounterKey] = Counter()
    for item in contributions:
        year, period, measure, school, field = parse_contribution(item)
        key = keys.roll(school) if measure == ROLL_MEASURE else keys.counters(year, period, measure, school)
        expected[(key, field)] += 1
    return expected


@dataclass(frozen=True)
class Mismatch:
    key: str
    field: str
    stored: int
    expected: int


@dataclass(frozen=True)
class Reconciliation:
    trust_id: str
    pupils: int
    counters: int
    mismatches: list[Mismatch]

    @property
    def consistent(self) -> bool:
        return not self.mismatches


async def reconcile(redis: Redis, keys: Keyspace) -> Reconciliation:
    contributions: list[Contribution] = []
    pupils = 0
    async for key in redis.scan_iter(match=f"{keys.base}:pupil:*", count=1000):
        raw = await redis.hget(key, "state")
        if raw:
            pupils += 1
            contributions.extend(json.loads(raw)["k"])
    expected = expected_counters(keys, contributions)
    stored: Counter[CounterKey] = Counter()
    for pattern in (f"{keys.base}:agg:*", f"{keys.base}:roll:*"):
        async for key in redis.scan_iter(match=pattern, count=1000):
            name = key.decode() if isinstance(key, bytes) else key
            for field, value in (await redis.hgetall(key)).items():
                stored[(name, field.decode() if isinstance(field, bytes) else field)] = int(value)
    mismatches = [
        Mismatch(key, field, stored.get((key, field), 0), expected.get((key, field), 0))
        for key, field in sorted(set(stored) | set(expected))
        if stored.get((key, field), 0) != expected.get((key, field), 0)
    ]
    return Reconciliation(keys.trust_id, pupils, len(expected), mismatches)


async def trusts(redis: Redis, prefix: str) -> list[str]:
    """Every Trust with aggregates under this prefix (found by their schools hash)."""
    found = set()
    async for key in redis.scan_iter(match=f"{prefix}:{{*}}:schools"):
        name = key.decode() if isinstance(key, bytes) else key
        found.add(name[len(prefix) + 2 : name.index("}:schools")])
    return sorted(found)
