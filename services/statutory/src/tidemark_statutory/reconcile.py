"""The statutory projection as a projection that can be reconciled and rebuilt
(`tidemark_runtime.rebuild`): what its pupil states say every counter should be."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from redis.asyncio import Redis

from tidemark_runtime.rebuild import CounterKey
from tidemark_schemas.aggregates import STATUTORY_PREFIX_SUFFIX, Keyspace, split_slot
from tidemark_schemas.events import TrackerEvent
from tidemark_statutory.adapters.redis_store import StatutoryStore, TrustBatch
from tidemark_statutory.domain.contributions import PROGRESS
from tidemark_statutory.domain.pupil_state import PupilState, from_fields

COUNTER_KINDS = ("stat", "progress", "progress-pupils")


def expected_counters(keys: Keyspace, state: PupilState) -> Counter[CounterKey]:
    """The counters one pupil's recorded contributions add one to (pure)."""
    expected: Counter[CounterKey] = Counter()
    for item in state.statutory_contributions:
        year, measure, school, field = item.split("|", 3)
        expected[(keys.statutory(year, measure, school), field)] += 1
    for slot, part in state.slots.items():
        year, period = split_slot(slot)
        for item in part.contributions:
            kind, school, field = item.split("|", 2)
            key = keys.progress if kind == PROGRESS else keys.progress_pupils
            expected[(key(year, period, school), field)] += 1
    return expected


class StatutoryProjection:
    """The statutory projection as `tidemark_runtime.rebuild.Projection`."""

    counter_kinds = COUNTER_KINDS

    def __init__(self, store: StatutoryStore) -> None:
        self._store = store

    async def apply_facts(self, keys: Keyspace, events: Sequence[TrackerEvent]) -> bool:
        return await self._store.apply_to(keys, TrustBatch.of(events)) is not None

    async def expected_counters(self, redis: Redis, keys: Keyspace) -> tuple[int, Counter[CounterKey]]:
        expected: Counter[CounterKey] = Counter()
        pupils = 0
        async for key in redis.scan_iter(match=f"{keys.base}:pupil:*", count=1000):
            fields = {_text(name): value for name, value in (await redis.hgetall(key)).items()}
            fields.pop("rev", None)
            expected.update(expected_counters(keys, from_fields(fields)))
            pupils += 1
        return pupils, expected


async def trusts(redis: Redis, prefix: str) -> list[str]:
    """Every Trust with a statutory projection under this prefix, in any generation."""
    found = set()
    async for key in redis.scan_iter(match=f"{prefix}{STATUTORY_PREFIX_SUFFIX}*:{{*}}:versions"):
        name = _text(key)
        found.add(name[name.index(":{") + 2 : name.index("}:versions")])
    return sorted(found)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
