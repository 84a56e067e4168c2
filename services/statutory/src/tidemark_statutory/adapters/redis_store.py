"""Applies a consumed batch to the statutory projection in Redis, the way the metrics service
applies its own: read the touched pupils' states in one round trip (one slot for a summative
lock; the whole pupil for a statutory result or a characteristic change), compute the deltas,
coalesce them, and write them in one atomic, version-guarded call per generation
(`tidemark_runtime.projection`). Also returns every pupil whose progress category changed, for
the public `attainment.progress.v1` topic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from tidemark_runtime.projection import ProjectionWrite, ProjectionWriter, by_trust
from tidemark_schemas.aggregates import (
    CHARACTERISTICS_FIELD,
    Keyspace,
    Slot,
    slot_field,
    slot_of,
    split_slot,
    statutory_keyspace,
)
from tidemark_schemas.events import (
    AssessmentEntered,
    AssessmentLocked,
    AssessmentUnlocked,
    ProgressCategoryChanged,
    TrackerEvent,
)
from tidemark_statutory.domain.contributions import PROGRESS, recompute
from tidemark_statutory.domain.pupil_state import (
    STATUTORY_FIELD,
    Contribution,
    PupilState,
    SlotState,
    StatutoryPupilEvent,
    apply_event,
    changed_fields,
    from_fields,
    relevant,
)

STATUTORY_SLOT = "-"
"""The slot of statutory contributions (they carry their own academic year)."""


@dataclass
class BatchResult:
    applied: int = 0
    counter_writes: int = 0
    progress_changes: list[ProgressCategoryChanged] = field(default_factory=list)


@dataclass
class TrustBatch:
    pupil_events: dict[str, list[StatutoryPupilEvent]]

    @classmethod
    def of(cls, events: Iterable[TrackerEvent]) -> TrustBatch:
        """Pupils, statutory results and reading / writing / maths results; nothing else matters here."""
        pupil_events: dict[str, list[StatutoryPupilEvent]] = defaultdict(list)
        for event in events:
            if isinstance(event, StatutoryPupilEvent) and relevant(event):
                pupil_events[event.pupil_id].append(event)
        return cls(dict(pupil_events))


class StatutoryStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._writer = ProjectionWriter(redis)

    def keyspace(self, trust_id: str) -> Keyspace:
        return statutory_keyspace(self._prefix, trust_id)

    async def apply(self, events: Sequence[TrackerEvent]) -> BatchResult:
        total = BatchResult()
        for trust_id, trust_events in by_trust(events).items():
            batch = TrustBatch.of(trust_events)
            if not batch.pupil_events:
                continue
            result = await self._writer.to_every_generation(
                self.keyspace(trust_id), lambda keys: self.apply_to(keys, batch)
            )
            total.applied += result.applied
            total.counter_writes += result.counter_writes
            total.progress_changes += result.progress_changes
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
            after, applied, everything, touched = _apply_events(before, its_events)
            if not applied:
                continue
            result.applied += applied
            after = recompute(after, pupil_id, None if everything else touched)
            written = _count_changes(before, after, everything, touched, counters)
            result.progress_changes += _progress_changes(keys.trust_id, pupil_id, before, after, written)
            write.add_state(keys.pupil(pupil_id), revision, changed_fields(before, after, written))
        write.counters, write.notices = _writes_and_notices(keys, counters)
        result.counter_writes = len(write.counters)
        return result, write

    async def _read(
        self, keys: Keyspace, pupil_events: dict[str, list[StatutoryPupilEvent]]
    ) -> dict[str, tuple[str, PupilState]]:
        wanted: dict[str, list[str] | None] = {}
        for pupil_id, events in pupil_events.items():
            if not all(map(_is_summative, events)):  # a pupil or statutory change moves every slot
                wanted[pupil_id] = None
            else:
                slots = {slot_of(e.academic_year, e.period) for e in events}  # type: ignore[union-attr]
                wanted[pupil_id] = [CHARACTERISTICS_FIELD, STATUTORY_FIELD, *map(slot_field, slots)]
        read = await self._writer.read_pupils(keys, wanted)
        return {pupil_id: (revision, from_fields(fields)) for pupil_id, (revision, fields) in read.items()}


def _is_summative(event: StatutoryPupilEvent) -> bool:
    return isinstance(event, AssessmentEntered | AssessmentLocked | AssessmentUnlocked)


def _apply_events(
    state: PupilState, events: list[StatutoryPupilEvent]
) -> tuple[PupilState, int, bool, set[Slot]]:
    """(the state after, how many events were newer, whether everything must be recomputed, the
    slots whose summative results changed)."""
    applied, everything, touched = 0, False, set()
    for event in events:
        after = apply_event(state, event)
        if after is None:
            continue
        state, applied = after, applied + 1
        if _is_summative(event):
            touched.add(slot_of(event.academic_year, event.period))  # type: ignore[union-attr]
        else:
            everything = True
    return state, applied, everything, touched


_EMPTY = SlotState()


def _count_changes(
    before: PupilState, after: PupilState, everything: bool, touched: set[Slot],
    counters: Counter[tuple[Slot, Contribution]],
) -> list[Slot]:
    """Add the pupil's counter deltas to `counters`; return the slots to write."""
    for item in after.statutory_contributions - before.statutory_contributions:
        counters[(STATUTORY_SLOT, item)] += 1
    for item in before.statutory_contributions - after.statutory_contributions:
        counters[(STATUTORY_SLOT, item)] -= 1
    written = []
    for slot in after.slots if everything else touched:
        old = before.slots.get(slot, _EMPTY).contributions
        new = after.slots[slot].contributions
        for item in new - old:
            counters[(slot, item)] += 1
        for item in old - new:
            counters[(slot, item)] -= 1
        if slot in touched or old != new:
            written.append(slot)
    return written


def _category(slot_state: SlotState | None) -> tuple[str, str] | None:
    """(school, category) of a slot's progress contribution, if any."""
    for item in slot_state.contributions if slot_state else ():
        measure, school, field = item.split("|", 2)
        if measure == PROGRESS:
            return school, field.rsplit("|", 1)[1]
    return None


def _progress_changes(
    trust_id: str, pupil_id: str, before: PupilState, after: PupilState, slots: list[Slot]
) -> list[ProgressCategoryChanged]:
    changes = []
    for slot in slots:
        old, new = _category(before.slots.get(slot)), _category(after.slots.get(slot))
        if old != new:
            year, period = split_slot(slot)
            changes.append(ProgressCategoryChanged(
                trust_id=trust_id, pupil_id=pupil_id, school_id=(new or old)[0],  # type: ignore[index]
                academic_year=year, period=period, previous=old[1] if old else None, current=new[1] if new else None,
            ))
    return changes


def _writes_and_notices(
    keys: Keyspace, counters: Counter[tuple[Slot, Contribution]]
) -> tuple[list[list[str | int]], list[list[str]]]:
    """The counter increments, and a change notice per academic year (statutory measures, with an
    empty period) or period (progress) saying which measures and schools moved."""
    writes: list[list[str | int]] = []
    touched: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for (slot, item), change in counters.items():
        if not change:
            continue
        if slot == STATUTORY_SLOT:
            year, measure, school, field_ = item.split("|", 3)
            writes.append([keys.statutory(year, measure, school), field_, change])
            notice = (year, "")
        else:
            year, period = split_slot(slot)
            measure, school, field_ = item.split("|", 2)
            key = keys.progress if measure == PROGRESS else keys.progress_pupils
            writes.append([key(year, period, school), field_, change])
            measure, notice = PROGRESS, (year, period)
        measures, schools = touched[notice]
        measures.add(measure)
        schools.add(school)
    notices = [
        [year, period, ",".join(sorted(measures)), ",".join(sorted(schools))]
        for (year, period), (measures, schools) in sorted(touched.items())
    ]
    return writes, notices

