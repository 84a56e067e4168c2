"""Applies a consumed batch of tracker events to Redis: read the batch's pupil states in one round
trip, compute the deltas in Python, coalesce them, and write everything in one atomic Lua call
guarded by the revisions read. A redelivered batch finds nothing newer and writes nothing.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files

from redis.asyncio import Redis

from tidemark_metrics.domain.contributions import contributions, delta
from tidemark_metrics.domain.pupil_state import (
    Contribution,
    PupilState,
    apply_event,
    from_document,
    parse_contribution,
    to_document,
)
from tidemark_schemas.aggregates import ROLL_MEASURE, Keyspace
from tidemark_schemas.events import (
    AssessmentEntered,
    AssessmentLocked,
    AssessmentUnlocked,
    PupilUpserted,
    SchoolUpserted,
    TrackerEvent,
)

APPLY_BATCH_LUA = files("tidemark_metrics.adapters").joinpath("apply_batch.lua").read_text()
MAX_ATTEMPTS = 20

PupilEvent = PupilUpserted | AssessmentEntered | AssessmentLocked | AssessmentUnlocked


class ConcurrentWriteError(RuntimeError):
    """Another writer kept changing the same pupils; the batch will be retried by the consumer."""


@dataclass(frozen=True)
class ChangeNotice:
    """Figures of one Trust period changed: which measures, at which schools."""

    trust_id: str
    academic_year: str
    period: str
    measures: tuple[str, ...]
    schools: tuple[str, ...]


@dataclass
class BatchResult:
    events: int = 0
    applied: int = 0
    counter_writes: int = 0
    notices: list[ChangeNotice] = field(default_factory=list)


class AggregateStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(APPLY_BATCH_LUA)

    async def apply(self, events: Sequence[TrackerEvent]) -> BatchResult:
        """Apply events of any Trusts; each Trust's share is written atomically."""
        by_trust: dict[str, list[TrackerEvent]] = defaultdict(list)
        for event in events:
            by_trust[event.trust_id].append(event)
        total = BatchResult(events=len(events))
        for trust_id, trust_events in by_trust.items():
            result = await self._apply_trust(Keyspace(self._prefix, trust_id), trust_events)
            total.applied += result.applied
            total.counter_writes += result.counter_writes
            total.notices += result.notices
        return total

    async def _apply_trust(self, keys: Keyspace, events: list[TrackerEvent]) -> BatchResult:
        pupil_events: dict[str, list[PupilEvent]] = defaultdict(list)
        schools: dict[str, SchoolUpserted] = {}
        for event in events:
            if isinstance(event, SchoolUpserted):
                if event.school_id not in schools or schools[event.school_id].version < event.version:
                    schools[event.school_id] = event
            else:
                pupil_events[event.pupil_id].append(event)

        for _attempt in range(MAX_ATTEMPTS):
            revisions, states = await self._read(keys, list(pupil_events))
            result = BatchResult()
            guards, writes, counters = [], [], Counter[Contribution]()
            for pupil_id, its_events in pupil_events.items():
                state = states[pupil_id]
                changed = False
                slots: set[tuple[str, str]] | None = set()
                for event in its_events:
                    after = apply_event(state, event)
                    if after is not None:
                        state, changed = after, True
                        result.applied += 1
                        if isinstance(event, PupilUpserted):
                            slots = None  # characteristics move every period's contributions
                        elif slots is not None:
                            slots.add((event.academic_year, event.period))
                if not changed:
                    continue
                before = states[pupil_id].contributions
                state = PupilState(state.characteristics, state.results, contributions(state, slots))
                counters.update(delta(before, state.contributions))
                key = keys.pupil(pupil_id)
                guards.append([key, revisions[pupil_id]])
                writes.append([key, str(int(revisions[pupil_id]) + 1), json.dumps(to_document(state), separators=(",", ":"))])
            counter_writes, result.notices = _writes_and_notices(keys, counters)
            result.counter_writes = len(counter_writes)
            result.applied += len(schools)
            if not writes and not schools:
                return result
            payload = {
                "guards": guards,
                "states": writes,
                "counters": counter_writes,
                "schools": [
                    [s.school_id, s.version, json.dumps({"name": s.name, "version": s.version})] for s in schools.values()
                ],
                "notices": [
                    [n.academic_year, n.period, ",".join(n.measures), ",".join(n.schools)] for n in result.notices
                ],
                "updated_at": datetime.now(UTC).isoformat(),
                "changes_key": keys.changes,
                "updated_key": keys.updated_at,
                "schools_key": keys.schools,
            }
            if await self._script(args=[json.dumps(payload, separators=(",", ":"))]) == 1:
                return result
        raise ConcurrentWriteError(f"pupil states kept changing under {MAX_ATTEMPTS} attempts")

    async def _read(self, keys: Keyspace, pupil_ids: list[str]) -> tuple[dict[str, str], dict[str, PupilState]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for pupil_id in pupil_ids:
                pipe.hmget(keys.pupil(pupil_id), "rev", "state")
            replies = await pipe.execute()
        revisions, states = {}, {}
        for pupil_id, (rev, raw) in zip(pupil_ids, replies, strict=True):
            revisions[pupil_id] = _text(rev) or "0"
            states[pupil_id] = from_document(json.loads(raw) if raw else None)
        return revisions, states


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _writes_and_notices(
    keys: Keyspace, counters: Counter[Contribution]
) -> tuple[list[list[str | int]], list[ChangeNotice]]:
    """The counter increments to write, and per period which measures and schools they touch
    (one parse of each contribution)."""
    writes: list[list[str | int]] = []
    touched: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for item, change in counters.items():
        if not change:
            continue
        year, period, measure, school, field_ = parse_contribution(item)
        if measure == ROLL_MEASURE:
            writes.append([keys.roll(school), field_, change])
            continue
        writes.append([keys.counters(year, period, measure, school), field_, change])
        measures, schools = touched[(year, period)]
        measures.add(measure)
        schools.add(school)
    notices = [
        ChangeNotice(keys.trust_id, year, period, tuple(sorted(measures)), tuple(sorted(schools)))
        for (year, period), (measures, schools) in sorted(touched.items())
    ]
    return writes, notices
