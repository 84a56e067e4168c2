"""Reconcile and rebuild any projection the engine runs (metrics, statutory, ...).

Reconcile: every pupil state records exactly which counters the pupil adds one to, so summing
those records recomputes every counter independently of the incremental path; a difference means
a bug or a write from outside Tidemark, and the report names each counter and both values.

Rebuild: recompute a Trust's projection from the SQL store's replay into a fresh generation,
then switch.

1. Open a new generation (`ProjectionEngine.open_generation`: e.g. the dates the attendance
   projection dates its periods by) and register it as *being built*: from then on, every batch the consumers apply is
   written to it as well as to the live one (`engine.py`, `writer.py`).
2. Replay every fact's latest snapshot from the SQL store into it. Each fact carries its version,
   so replayed and live events meet in any order and the newest snapshot wins (the property the
   projection tests prove). A fact committed before step 1 is in the replay (it is in SQL before
   it is published); one committed after is applied by the consumers.
3. Reconcile the new generation, and count how far the live generation is from it. Switch readers
   over only if the new one is consistent.
4. Announce the switch on the change stream (live pages refresh) and, after a grace period for
   reads already under way, delete the previous generation.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tidemark_runtime.observability.metrics import RebuildProgress
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.replay import FactSource
from tidemark_runtime.projections.state import CounterKey
from tidemark_runtime.redis import RedisClient, by_slot
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.events import TrackerEvent
from tidemark_schemas.notices import EVERYTHING, ChangeNotice

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


async def stored_counters(redis: RedisClient, keys: Keyspace, kinds: Iterable[str]) -> Counter[CounterKey]:
    stored: Counter[CounterKey] = Counter()
    for kind in kinds:
        async for key in redis.scan_iter(match=f"{keys.base}:{kind}:*", count=1000):
            for field, value in (await redis.hgetall(key)).items():
                stored[(_text(key), _text(field))] = int(value)
    return stored


def differences(stored: Counter[CounterKey], expected: Counter[CounterKey]) -> list[Mismatch]:
    return [
        Mismatch(key, field, stored.get((key, field), 0), expected.get((key, field), 0))
        for key, field in sorted(set(stored) | set(expected))
        if stored.get((key, field), 0) != expected.get((key, field), 0)
    ]


def rebased(counters: Counter[CounterKey], source: Keyspace, target: Keyspace) -> Counter[CounterKey]:
    """The same counters named as in another generation (to compare two generations)."""
    return Counter({(target.base + key[len(source.base):], field): value for (key, field), value in counters.items()})


async def reconcile(engine: ProjectionEngine, keys: Keyspace) -> Reconciliation:
    """Every counter of one generation against what its pupil states record."""
    pupils, expected = await engine.expected_counters(keys)
    mismatches = differences(await stored_counters(engine.redis, keys, engine.rules.counter_kinds), expected)
    return Reconciliation(keys.trust_id, pupils, len(expected), mismatches)


async def live_keys(redis: RedisClient, keys: Keyspace) -> Keyspace:
    """The generation of `keys` that readers use now."""
    return keys.at(_text(await redis.get(keys.generation_key)))


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
    engine: ProjectionEngine,
    keys: Keyspace,
    facts: AsyncIterable[Sequence[TrackerEvent]],
    grace_seconds: float = 5.0,
    keep_previous: bool = False,
    switch: bool = True,
) -> RebuildReport:
    """Rebuild one Trust (`keys` of any generation) from `facts`, switch, and drop the previous one.
    With `switch=False`, only compare: the rebuilt generation is dropped and the live one kept
    (`reconcile` against the SQL store)."""
    started = time.perf_counter()
    redis, kinds = engine.redis, engine.rules.counter_kinds
    generation = new_generation()
    target = keys.at(generation)
    await engine.open_generation(target)  # before any writer sees it: what it holds from the start
    await redis.sadd(keys.building_key, generation)
    events = 0
    try:
        async for chunk in facts:
            events += len(chunk)
            if not await engine.apply_facts(target, chunk):
                raise RebuildFailed(f"generation {generation} stopped being built (removed from {keys.building_key})")
        check = await reconcile(engine, target)
        if not check.consistent:
            raise RebuildFailed(f"the rebuilt generation does not reconcile: {len(check.mismatches)} counters differ")
        live = await live_keys(redis, keys)
        drift = differences(
            await stored_counters(redis, live, kinds),
            rebased(await stored_counters(redis, target, kinds), target, live),
        )
        if switch:
            await _switch(redis, target)
    except BaseException:
        await redis.srem(keys.building_key, generation)
        await drop_generation(redis, target)
        raise
    if not switch:
        await redis.srem(keys.building_key, generation)
        await drop_generation(redis, target)
    elif not keep_previous:
        await asyncio.sleep(grace_seconds)
        await drop_generation(redis, live)
    return RebuildReport(
        keys.trust_id, generation, live.generation, events, check.pupils, check.counters, drift,
        time.perf_counter() - started,
    )


async def _switch(redis: RedisClient, target: Keyspace) -> None:
    """Readers move to `target` at once (and a Trust being restored is served again); the switch is
    announced to live pages. One transaction over the Trust's generation, building and restoring
    keys and change stream: one slot, so a cluster runs it."""
    schools = sorted(_text(school) for school in await redis.hkeys(target.schools))
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(target.generation_key, target.generation)
        pipe.srem(target.building_key, target.generation)
        pipe.delete(target.restoring_key)
        notice = ChangeNotice(target.trust_id, "", "", (EVERYTHING,), tuple(schools))
        pipe.xadd(target.changes, notice.stream_fields(), maxlen=10000, approximate=True)  # type: ignore[arg-type]  # redis-py's dict of its own unions (dict is invariant)
        await pipe.execute()


async def drop_generation(redis: RedisClient, keys: Keyspace) -> int:
    """Delete every key of one generation (never the Trust's generation keys or change stream).

    A generation is one Trust's, so its keys share a slot; each UNLINK still names the keys of one
    slot only, as a cluster requires of a multi-key command."""
    deleted = 0
    for pattern in keys.data_patterns:
        batch: list[bytes | str] = []
        async for key in redis.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await _unlink(redis, batch)
                batch = []
        deleted += await _unlink(redis, batch)
    return deleted


async def _unlink(redis: RedisClient, keys: list[bytes | str]) -> int:
    return sum([await redis.unlink(*same_slot) for same_slot in by_slot(keys)])


async def reconcile_each(engine: ProjectionEngine, trust_ids: Iterable[str], source: FactSource | None = None) -> int:
    """Reconcile the live generation of each Trust, print each report; 1 when counters differ.

    Two checks: every counter against the pupil states (what the incremental path recorded), and,
    with `source` (ingest's replay), every counter against a scratch rebuild from the SQL store, so
    that events lost on the way (a broker that lost them) can never look consistent."""
    status = 0
    for trust_id in trust_ids:
        keys = engine.keyspace(trust_id)
        report = await reconcile(engine, await live_keys(engine.redis, keys))
        verdict = "consistent" if report.consistent else f"{len(report.mismatches)} counters differ"
        print(f"{keys.trust_id}: {report.pupils} pupils, {report.counters} counters against the pupil states: {verdict}")
        for mismatch in report.mismatches[:50]:
            print(f"  {mismatch.key} [{mismatch.field}] stored {mismatch.stored}, expected {mismatch.expected}")
        status = status or (0 if report.consistent else 1)
        if source is not None:
            compared = await rebuild_trust(engine, keys, source.facts(trust_id, engine.rules.facts), switch=False)
            drift = compared.differences_from_previous
            print(f"{keys.trust_id}: {compared.events} facts of the SQL store: "
                  + ("consistent" if not drift else f"{len(drift)} counters differ"))
            for mismatch in drift[:50]:
                print(f"  {mismatch.key} [{mismatch.field}] stored {mismatch.stored}, from the store {mismatch.expected}")
            status = status or (1 if drift else 0)
    return status


async def rebuild_each(
    engine: ProjectionEngine, trust_ids: Iterable[str], source: FactSource, grace_seconds: float, keep_previous: bool,
) -> int:
    """Rebuild each Trust from `source`, print each report; 1 when a rebuild fails. Progress is
    printed and kept in `tidemark_rebuild_trusts_done / tidemark_rebuild_trusts`."""
    trust_ids = list(trust_ids)
    progress = RebuildProgress(engine.rules.name, len(trust_ids))
    try:
        for done, trust_id in enumerate(trust_ids, start=1):
            report = await rebuild_trust(
                engine, engine.keyspace(trust_id), source.facts(trust_id, engine.rules.facts), grace_seconds,
                keep_previous,
            )
            progress.trust_done()
            print(f"[{done}/{len(trust_ids)}] ", end="")
            print(f"{report.trust_id}: generation {report.previous or '(first)'} -> {report.generation}: "
                  f"{report.events} facts, {report.pupils} pupils, {report.counters} counters, consistent, in "
                  f"{report.seconds:.1f} s; {len(report.differences_from_previous)} counters differed from the "
                  "previous generation")
            for mismatch in report.differences_from_previous[:50]:
                print(f"  {mismatch.key} [{mismatch.field}] was {mismatch.stored}, rebuilt {mismatch.expected}")
    except RebuildFailed as error:
        print(f"rebuild failed: {error}", file=sys.stderr)
        return 1
    return 0


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")
