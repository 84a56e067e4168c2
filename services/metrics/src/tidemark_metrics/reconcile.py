"""Reconcile: do the counters equal what the per-pupil states say they should be?

Every pupil state records exactly which counters the pupil adds one to, so summing those records
recomputes every counter independently of the incremental path. A difference means a bug or a
write from outside Tidemark; the report names each counter and both values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

from tidemark_metrics.domain.pupil_state import Contribution, Slot, from_fields, parse_contribution, split_slot
from tidemark_schemas.aggregates import ROLL_MEASURE, Keyspace

CounterKey = tuple[str, str]
"""(Redis key, field)"""


def expected_counters(keys: Keyspace, contributions: Iterable[tuple[Slot | None, Contribution]]) -> Counter[CounterKey]:
    """The counters implied by the pupils' recorded contributions (pure); slot None is the roll."""
    expected: Counter[CounterKey] = Counter()
    for slot, item in contributions:
        measure, school, field = parse_contribution(item)
        if measure == ROLL_MEASURE or slot is None:
            key = keys.roll(school)
        else:
            key = keys.counters(*split_slot(slot), measure, school)
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


async def recorded_contributions(redis: Redis, keys: Keyspace) -> tuple[int, list[tuple[Slot | None, Contribution]]]:
    """(pupils, every contribution their states record) of one generation."""
    contributions: list[tuple[Slot | None, Contribution]] = []
    pupils = 0
    async for key in redis.scan_iter(match=f"{keys.base}:pupil:*", count=1000):
        fields = {_text(name): value for name, value in (await redis.hgetall(key)).items()}
        fields.pop("rev", None)
        state = from_fields(fields)
        pupils += 1
        contributions += [(None, item) for item in state.roll]
        contributions += [(slot, item) for slot, part in state.slots.items() for item in part.contributions]
    return pupils, contributions


async def stored_counters(redis: Redis, keys: Keyspace) -> Counter[CounterKey]:
    """Every counter of one generation (the period counters and the rolls)."""
    stored: Counter[CounterKey] = Counter()
    for pattern in (f"{keys.base}:agg:*", f"{keys.base}:roll:*"):
        async for key in redis.scan_iter(match=pattern, count=1000):
            for field, value in (await redis.hgetall(key)).items():
                stored[(_text(key), _text(field))] = int(value)
    return stored


def rebased(counters: Counter[CounterKey], source: Keyspace, target: Keyspace) -> Counter[CounterKey]:
    """The same counters named as in another generation (to compare two generations)."""
    return Counter({(target.base + key[len(source.base):], field): value for (key, field), value in counters.items()})


def differences(stored: Counter[CounterKey], expected: Counter[CounterKey]) -> list[Mismatch]:
    return [
        Mismatch(key, field, stored.get((key, field), 0), expected.get((key, field), 0))
        for key, field in sorted(set(stored) | set(expected))
        if stored.get((key, field), 0) != expected.get((key, field), 0)
    ]


async def reconcile(redis: Redis, keys: Keyspace) -> Reconciliation:
    pupils, contributions = await recorded_contributions(redis, keys)
    expected = expected_counters(keys, contributions)
    mismatches = differences(await stored_counters(redis, keys), expected)
    return Reconciliation(keys.trust_id, pupils, len(expected), mismatches)


async def trusts(redis: Redis, prefix: str) -> list[str]:
    """Every Trust with aggregates under this prefix, in any generation (found by their schools hash)."""
    found = set()
    for pattern in (f"{prefix}:{{*}}:schools", f"{prefix}.*:{{*}}:schools"):
        async for key in redis.scan_iter(match=pattern):
            name = _text(key)
            found.add(name[name.index(":{") + 2 : name.index("}:schools")])
    return sorted(found)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
