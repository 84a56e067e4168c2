"""A pupil as the metrics service sees it, and how an event changes it (pure, version-guarded).

The state keeps the pupil's current characteristics and, per (academic year, period) *slot*, every
result of that slot (draft and locked value, with its version) and exactly which counters the
pupil adds one to in that slot. Applying an event whose version is not newer than the stored one
changes nothing: redelivery, duplicates and reordering are all no-ops, and the latest snapshot of
each fact always wins.

Why slots: a lock touches one period of eighteen, so only that slot is read, recomputed and
written; a characteristic change moves every slot and reads them all. In Redis a pupil is one
hash: `rev` (the write guard), `c` (characteristics), `roll` (the slotless contributions) and one
field per slot (`s:<year>|<period>`). Results and contributions stay in their stored form (plain
strings and tuples): decoding and encoding states is the consumer's hottest loop.
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
from tidemark_schemas.events import AssessmentEntered, AssessmentLocked, AssessmentUnlocked, PupilUpserted

StoredResult = tuple[str, str, str | None, str | None, int, str | None]
"""(school_id, year_group, entered band, locked band, version, locked model code) of one result."""

Contribution = str
""""measure|school_id|counter field": the pupil adds one to that counter (of its slot's period)."""

PupilEvent = PupilUpserted | AssessmentEntered | AssessmentLocked | AssessmentUnlocked

ROLL_FIELD = "roll"


def contribution(measure: str, school_id: str, counter_field: str) -> Contribution:
    return f"{measure}|{school_id}|{counter_field}"


def parse_contribution(value: Contribution) -> tuple[str, str, str]:
    measure, school_id, counter_field = value.split("|", 2)
    return measure, school_id, counter_field


@dataclass(frozen=True, slots=True)
class SlotState:
    results: dict[str, StoredResult] = field(default_factory=dict)
    """By subject."""
    contributions: frozenset[Contribution] = frozenset()


@dataclass(frozen=True)
class PupilState:
    """A pupil's state, or the part of it a batch read: `slots` holds the slots loaded (all of them
    when the characteristics change, else those the batch's results touch)."""

    characteristics: Characteristics | None = None
    roll: frozenset[Contribution] = frozenset()
    """Contributions that belong to no period (the current roll)."""
    slots: dict[Slot, SlotState] = field(default_factory=dict)


def apply_event(state: PupilState, event: PupilEvent) -> PupilState | None:
    """The state after `event`, or None if the event is stale or repeated (its version is not newer).
    A result event needs its slot loaded (absent means the slot is empty)."""
    if isinstance(event, PupilUpserted):
        if state.characteristics is not None and event.version <= state.characteristics.version:
            return None
        return replace(state, characteristics=Characteristics.of(event))
    slot = slot_of(event.academic_year, event.period)
    current_slot = state.slots.get(slot) or SlotState()
    current = current_slot.results.get(event.subject)
    if current is not None and event.version <= current[4]:
        return None
    stored: StoredResult = (
        event.school_id,
        event.year_group.value,
        event.entered_band.value if event.entered_band else None,
        event.locked_band.value if event.locked_band else None,
        event.version,
        event.locked_code if event.locked_band else None,
    )
    new_slot = SlotState({**current_slot.results, event.subject: stored}, current_slot.contributions)
    return PupilState(state.characteristics, state.roll, {**state.slots, slot: new_slot})


# -- the stored form (fields of the pupil's Redis hash, JSON values) ------------------------


def encode_slot(slot: SlotState) -> bytes:
    return orjson.dumps({"r": slot.results, "k": sorted(slot.contributions)})


def decode_slot(raw: bytes | str) -> SlotState:
    document = orjson.loads(raw)
    results = {subject: tuple(value) for subject, value in document["r"].items()}
    return SlotState(results, frozenset(document["k"]))  # type: ignore[arg-type]


def from_fields(fields: Mapping[str, bytes | str | None]) -> PupilState:
    """A state from the hash fields read (any missing field is empty)."""
    raw_c = fields.get(CHARACTERISTICS_FIELD)
    raw_roll = fields.get(ROLL_FIELD)
    slots = {slot: decode_slot(raw) for slot, raw in slots_in(fields).items()}
    return PupilState(
        decode_characteristics(raw_c) if raw_c else None,
        frozenset(orjson.loads(raw_roll)) if raw_roll else frozenset(),
        slots,
    )


def changed_fields(before: PupilState, after: PupilState, slots: Iterable[Slot]) -> dict[str, bytes]:
    """The hash fields to write: the characteristics and roll if they changed, and `slots`."""
    fields: dict[str, bytes] = {}
    if after.characteristics is not None and after.characteristics != before.characteristics:
        fields[CHARACTERISTICS_FIELD] = encode_characteristics(after.characteristics)
    if after.roll != before.roll:
        fields[ROLL_FIELD] = orjson.dumps(sorted(after.roll))
    for slot in slots:
        fields[slot_field(slot)] = encode_slot(after.slots[slot])
    return fields
