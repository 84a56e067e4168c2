"""Applies a consumed batch of tracker events to Redis: read the batch's pupil states in one round
trip (only the slots the batch touches, unless a pupil's characteristics change), compute the
deltas in Python, coalesce them, and write everything in one atomic Lua call guarded by the
revisions read. A redelivered batch finds nothing newer and writes nothing.

Every batch is written to the generation readers use and to every generation being rebuilt
(`Keyspace` explains generations), so a rebuild never misses what arrives while it runs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import orjson
from redis.asyncio import Redis

from tidemark_metrics.domain.contributions import delta, recompute
from tidemark_metrics.domain.pupil_state import (
    ROLL_FIELD,
    Contribution,
    PupilEvent,
    PupilState,
    SlotState,
    apply_event,
    changed_fields,
    from_fields,
    parse_contribution,
)
from tidemark_runtime.projection import ProjectionWrite, ProjectionWriter, by_trust
from tidemark_schemas.aggregates import (
    CHARACTERISTICS_FIELD,
    ROLL_MEASURE,
    SCHOOLS_CHANGED,
    Keyspace,
    Slot,
    slot_field,
    slot_of,
    split_slot,
)
from tidemark_schemas.events import PupilUpserted, SchoolUpserted, TrackerEvent

NO_SLOT = "-"
"""The slot of contributions that belong to no period (the current roll)."""


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


@dataclass
class TrustBatch:
    """One Trust's share of a batch, grouped once however many generations it is written to."""

    pupil_events: dict[str, list[PupilEvent]]
    schools: dict[str, SchoolUpserted]
    """The newest version of each school in the batch."""

    @classmethod
    def of(cls, events: Iterable[TrackerEvent]) -> TrustBatch:
        """Statutory results are the statutory service's business: they are skipped here."""
        pupil_events: dict[str, list[PupilEvent]] = defaultdict(list)
        schools: dict[str, SchoolUpserted] = {}
        for event in events:
            if isinstance(event, SchoolUpserted):
                if event.school_id not in schools or schools[event.school_id].version < event.version:
                    schools[event.school_id] = event
            elif isinstance(event, PupilEvent):
                pupil_events[event.pupil_id].append(event)
        return cls(dict(pupil_events), schools)


class AggregateStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._writer = ProjectionWriter(redis)

    async def apply(self, events: Sequence[TrackerEvent]) -> BatchResult:
        """Apply events of any Trusts; each Trust's share is written atomically per generation."""
        total = BatchResult(events=len(events))
        for trust_id, trust_events in by_trust(events).items():
            batch = TrustBatch.of(trust_events)
            result = await self._writer.to_every_generation(
                Keyspace(self._prefix, trust_id), lambda keys: self.apply_to(keys, batch)
            )
            total.applied += result.applied
            total.counter_writes += result.counter_writes
            total.notices += result.notices
        return total

    async def apply_to(self, keys: Keyspace, batch: TrustBatch) -> BatchResult | None:
        """Apply to one generation; None if it is neither live nor being rebuilt."""
        return await self._writer.write_computed(keys, lambda: self._compute(keys, batch))

    async def _compute(self, keys: Keyspace, batch: TrustBatch) -> tuple[BatchResult, ProjectionWrite]:
        """The batch's effect on the states as read now: what to report and what to write."""
        states = await self._read(keys, batch.pupil_events)
        result = BatchResult()
        write = ProjectionWrite()
        counters: Counter[tuple[Slot, Contribution]] = Counter()
        for pupil_id, its_events in batch.pupil_events.items():
            revision, before = states[pupil_id]
            after, applied, characteristics_changed, touched = _apply_events(before, its_events)
            if not applied:
                continue
            result.applied += applied
            after = recompute(after, None if characteristics_changed else touched)
            written = _count_changes(before, after, characteristics_changed, touched, counters)
            write.add_state(keys.pupil(pupil_id), revision, changed_fields(before, after, written))
        write.counters, result.notices = _writes_and_notices(keys, counters)
        result.counter_writes = len(write.counters)
        result.applied += len(batch.schools)
        write.schools = [[s.school_id, s.version, _school_document(s)] for s in batch.schools.values()]
        write.notices = [[n.academic_year, n.period, ",".join(n.measures), ",".join(n.schools)] for n in result.notices]
        if batch.schools:  # live pages list schools before any result arrives
            write.notices.append(["", "", SCHOOLS_CHANGED, ",".join(sorted(batch.schools))])
        return result, write

    async def _read(
        self, keys: Keyspace, pupil_events: dict[str, list[PupilEvent]]
    ) -> dict[str, tuple[str, PupilState]]:
        """Each pupil's revision and the part of its state the events need, in one round trip: the
        whole hash when its characteristics may change, else the characteristics and touched slots."""
        wanted: dict[str, list[str] | None] = {}
        for pupil_id, events in pupil_events.items():
            if any(isinstance(event, PupilUpserted) for event in events):
                wanted[pupil_id] = None
            else:
                slots = {slot_of(e.academic_year, e.period) for e in events}  # type: ignore[union-attr]
                wanted[pupil_id] = [CHARACTERISTICS_FIELD, ROLL_FIELD, *map(slot_field, slots)]
        read = await self._writer.read_pupils(keys, wanted)
        return {pupil_id: (revision, from_fields(fields)) for pupil_id, (revision, fields) in read.items()}


def _apply_events(state: PupilState, events: list[PupilEvent]) -> tuple[PupilState, int, bool, set[Slot]]:
    """(the state after the events, how many were newer, whether the characteristics changed, the
    slots whose results changed)."""
    applied, characteristics_changed, touched = 0, False, set()
    for event in events:
        after = apply_event(state, event)
        if after is None:
            continue
        state, applied = after, applied + 1
        if isinstance(event, PupilUpserted):
            characteristics_changed = True
        else:
            touched.add(slot_of(event.academic_year, event.period))
    return state, applied, characteristics_changed, touched


def _count_changes(
    before: PupilState,
    after: PupilState,
    characteristics_changed: bool,
    touched: set[Slot],
    counters: Counter[tuple[Slot, Contribution]],
) -> list[Slot]:
    """Add the pupil's counter deltas to `counters`; return the slots to write (touched, or whose
    contributions moved)."""
    for item, change in delta(before.roll, after.roll).items():
        counters[(NO_SLOT, item)] += change
    written = []
    for slot in after.slots if characteristics_changed else touched:
        old = before.slots.get(slot, _EMPTY).contributions
        new = after.slots[slot].contributions
        if old != new:
            for item, change in delta(old, new).items():
                counters[(slot, item)] += change
        if slot in touched or old != new:
            written.append(slot)
    return written


_EMPTY = SlotState()


def _school_document(school: SchoolUpserted) -> str:
    model = school.assessment_model.model_dump(mode="json") if school.assessment_model else None
    return orjson.dumps({"name": school.name, "version": school.version, "model": model}).decode()


def _writes_and_notices(
    keys: Keyspace, counters: Counter[tuple[Slot, Contribution]]
) -> tuple[list[list[str | int]], list[ChangeNotice]]:
    """The counter increments to write, and per period which measures and schools they touch
    (one parse of each contribution)."""
    writes: list[list[str | int]] = []
    touched: dict[Slot, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for (slot, item), change in counters.items():
        if not change:
            continue
        measure, school, field_ = parse_contribution(item)
        if measure == ROLL_MEASURE:
            writes.append([keys.roll(school), field_, change])
            continue
        year, period = split_slot(slot)
        writes.append([keys.counters(year, period, measure, school), field_, change])
        measures, schools = touched[slot]
        measures.add(measure)
        schools.add(school)
    notices = [
        ChangeNotice(keys.trust_id, *split_slot(slot), tuple(sorted(measures)), tuple(sorted(schools)))
        for slot, (measures, schools) in sorted(touched.items())
    ]
    return writes, notices
