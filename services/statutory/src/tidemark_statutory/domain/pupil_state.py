"""A pupil as the statutory service sees it, and how an event changes it (pure, version-guarded).

The state keeps the pupil's current characteristics, every statutory result (its counted value
and version) with the counters they add to, and per (academic year, period) slot the locked
reading, writing and maths bands (the current attainment that progress compares with the prior
statutory result) with the counters of that slot. In Redis a pupil is one hash: `rev`, `c`,
`st` (statutory) and `s:<year>|<period>` per slot, so a summative lock reads and writes one slot
while a statutory result or a characteristic change reads them all (every period's progress
depends on the prior result).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import orjson

from tidemark_schemas.aggregates import (
    CHARACTERISTICS_FIELD,
    Slot,
    slot_field,
    slot_of,
    slots_in,
)
from tidemark_schemas.characteristics import Characteristics, decode_characteristics, encode_characteristics
from tidemark_schemas.events import (
    AssessmentEntered,
    AssessmentLocked,
    AssessmentUnlocked,
    PupilUpserted,
    StatutoryEntered,
    StatutoryLocked,
    StatutoryUnlocked,
)
from tidemark_schemas.statutory import Assessment, StatutoryValue
from tidemark_schemas.vocabulary import CORE_SUBJECTS

StatutoryKey = tuple[str, Assessment, str]
"""(academic_year, assessment, component)"""

StoredStatutory = tuple[str, StatutoryValue | None, int]
"""(school_id, the counted value or None when not locked, version)"""

SummativeResult = tuple[str, str, str | None, int]
"""(school_id, year_group, locked band or None, version) of a reading, writing or maths result."""

Contribution = str
""""measure|school_id|counter field"; statutory contributions are prefixed with their year."""

StatutoryPupilEvent = (
    PupilUpserted | AssessmentEntered | AssessmentLocked | AssessmentUnlocked
    | StatutoryEntered | StatutoryLocked | StatutoryUnlocked
)

STATUTORY_FIELD = "st"


def relevant(event: StatutoryPupilEvent) -> bool:
    """Only reading, writing and maths summative results matter here (progress uses combined RWM)."""
    return not isinstance(event, AssessmentEntered | AssessmentLocked | AssessmentUnlocked) or (
        event.subject in CORE_SUBJECTS
    )


@dataclass(frozen=True, slots=True)
class SlotState:
    results: dict[str, SummativeResult] = field(default_factory=dict)
    """By subject (reading, writing, maths)."""
    contributions: frozenset[Contribution] = frozenset()


@dataclass(frozen=True)
class PupilState:
    """A pupil's state, or the part a batch read: `slots` holds the slots loaded (all of them when
    the characteristics or a statutory result change, else those the batch's locks touch)."""

    characteristics: Characteristics | None = None
    statutory: dict[StatutoryKey, StoredStatutory] = field(default_factory=dict)
    statutory_contributions: frozenset[Contribution] = frozenset()
    """"academic_year|measure|school_id|field"."""
    slots: dict[Slot, SlotState] = field(default_factory=dict)

    def locked_statutory(self) -> dict[StatutoryKey, StatutoryValue]:
        return {key: value for key, (_school, value, _version) in self.statutory.items() if value is not None}


def apply_event(state: PupilState, event: StatutoryPupilEvent) -> PupilState | None:
    """The state after `event`, or None if it is stale, repeated or not relevant here."""
    if isinstance(event, PupilUpserted):
        if state.characteristics is not None and event.version <= state.characteristics.version:
            return None
        return replace(state, characteristics=Characteristics.of(event))
    if isinstance(event, StatutoryEntered | StatutoryLocked | StatutoryUnlocked):
        key = (event.academic_year, event.assessment, event.component)
        current = state.statutory.get(key)
        if current is not None and event.version <= current[2]:
            return None
        return replace(state, statutory={**state.statutory, key: (event.school_id, event.locked, event.version)})
    if event.subject not in CORE_SUBJECTS:
        return None
    slot = slot_of(event.academic_year, event.period)
    current_slot = state.slots.get(slot) or SlotState()
    existing = current_slot.results.get(event.subject)
    if existing is not None and event.version <= existing[3]:
        return None
    stored: SummativeResult = (
        event.school_id, event.year_group.value, event.locked_band.value if event.locked_band else None, event.version
    )
    new_slot = SlotState({**current_slot.results, event.subject: stored}, current_slot.contributions)
    return replace(state, slots={**state.slots, slot: new_slot})


# -- the stored form (fields of the pupil's Redis hash) -------------------------------------


def _encode_statutory(state: PupilState) -> bytes:
    return orjson.dumps({
        "r": [
            [year, assessment.value, component, school, value.model_dump() if value else None, version]
            for (year, assessment, component), (school, value, version) in sorted(state.statutory.items())
        ],
        "k": sorted(state.statutory_contributions),
    })


def _decode_statutory(raw: bytes | str) -> tuple[dict[StatutoryKey, StoredStatutory], frozenset[Contribution]]:
    document = orjson.loads(raw)
    results = {
        (year, Assessment(assessment), component): (
            school, StatutoryValue.model_validate(value) if value is not None else None, version
        )
        for year, assessment, component, school, value, version in document["r"]
    }
    return results, frozenset(document["k"])


def encode_slot(slot: SlotState) -> bytes:
    return orjson.dumps({"r": slot.results, "k": sorted(slot.contributions)})


def decode_slot(raw: bytes | str) -> SlotState:
    document = orjson.loads(raw)
    return SlotState({subject: tuple(value) for subject, value in document["r"].items()},  # type: ignore[misc]
                     frozenset(document["k"]))


def from_fields(fields: Mapping[str, bytes | str | None]) -> PupilState:
    raw_c, raw_st = fields.get(CHARACTERISTICS_FIELD), fields.get(STATUTORY_FIELD)
    statutory, statutory_contributions = _decode_statutory(raw_st) if raw_st else ({}, frozenset())
    slots = {slot: decode_slot(raw) for slot, raw in slots_in(fields).items()}
    return PupilState(
        decode_characteristics(raw_c) if raw_c else None, statutory, statutory_contributions, slots
    )


def changed_fields(before: PupilState, after: PupilState, slots: Iterable[Slot]) -> dict[str, bytes]:
    """The hash fields to write: what changed among characteristics and statutory, and `slots`."""
    fields: dict[str, bytes] = {}
    if after.characteristics is not None and after.characteristics != before.characteristics:
        fields[CHARACTERISTICS_FIELD] = encode_characteristics(after.characteristics)
    if (after.statutory, after.statutory_contributions) != (before.statutory, before.statutory_contributions):
        fields[STATUTORY_FIELD] = _encode_statutory(after)
    for slot in slots:
        fields[slot_field(slot)] = encode_slot(after.slots[slot])
    return fields
