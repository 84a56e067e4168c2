"""The metrics aggregates as a projection that can be reconciled and rebuilt
(`tidemark_runtime.rebuild`): what its pupil states say every counter should be."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from redis.asyncio import Redis

from tidemark_metrics.adapters.redis_store import AggregateStore, TrustBatch
from tidemark_metrics.domain.pupil_state import Contribution, from_fields, parse_contribution
from tidemark_runtime.rebuild import CounterKey, Reconciliation, reconcile
from tidemark_schemas.aggregates import ROLL_MEASURE, Keyspace, Slot, split_slot
from tidemark_schemas.events import TrackerEvent

COUNTER_KINDS = ("agg", "roll")


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


class MetricsProjection:
    """The aggregates as `tidemark_runtime.rebuild.Projection`."""

    counter_kinds = COUNTER_KINDS

    def __init__(self, store: AggregateStore) -> None:
        self._store = store

    async def apply_facts(self, keys: Keyspace, events: Sequence[TrackerEvent]) -> bool:
        return await self._store.apply_to(keys, TrustBatch.of(events)) is not None

    async def expected_counters(self, redis: Redis, keys: Keyspace) -> tuple[int, Counter[CounterKey]]:
        pupils, contributions = await recorded_contributions(redis, keys)
        return pupils, expected_counters(keys, contributions)


async def reconcile_metrics(redis: Redis, keys: Keyspace) -> Reconciliation:
    """Reconcile one generation of the aggregates."""
    return await reconcile(redis, MetricsProjection(AggregateStore(redis, keys.prefix)), keys)


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
