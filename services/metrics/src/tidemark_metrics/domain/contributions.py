"""Which counters a pupil adds one to in the metrics aggregates (pure): per period, each locked
result (and its model code), each combined measure, presence in the period (`pupils`) and each
entered value (`entered.<subject>`); outside any period, the current roll.

A contribution is the string "measure|school_id|counter field" (`contribution`); the engine turns
any change into "retract the old contributions, add the new ones", so corrections, unlocks,
characteristic changes, leavers and school moves all reduce to the same difference of two sets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from tidemark_schemas.aggregates import PUPILS_MEASURE, ROLL_MEASURE, Slot, entered_measure, model_measure, split_slot
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.events import AssessmentEvent
from tidemark_schemas.rules import (
    COMBINED_ALL_GOALS,
    COMBINED_GLD,
    COMBINED_RWM,
    combined_all_goals,
    combined_gld,
    combined_rwm,
)
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, Band

StoredResult = tuple[str, str, str | None, str | None, int, str | None]
"""(school_id, year_group, entered band, locked band, version, locked model code) of one result:
plain values, as stored (decoding and encoding states is the consumer's hottest loop)."""
VERSION: Final = 4

Contribution = str
""""measure|school_id|counter field": the pupil adds one to that counter."""

CombinedRule = Callable[[Mapping[str, Band]], Band | None]

COMBINED_MEASURES: tuple[tuple[str, CombinedRule, str], ...] = (
    # (measure, rule, the subject whose school and year group the combined result is filed under)
    (COMBINED_RWM, combined_rwm, CORE_SUBJECTS[0]),
    (COMBINED_GLD, combined_gld, EYFS_GOALS[0]),
    (COMBINED_ALL_GOALS, combined_all_goals, EYFS_GOALS[0]),
)

_BANDS = {band.value: band for band in Band}


def contribution(measure: str, school_id: str, counter_field: str) -> Contribution:
    return f"{measure}|{school_id}|{counter_field}"


def parse_contribution(value: Contribution) -> tuple[str, str, str]:
    measure, school_id, counter_field = value.split("|", 2)
    return measure, school_id, counter_field


def stored_result(event: AssessmentEvent) -> StoredResult:
    """What a result's slot keeps of its latest snapshot."""
    return (
        event.school_id,
        event.year_group.value,
        event.entered_band.value if event.entered_band else None,
        event.locked_band.value if event.locked_band else None,
        event.version,
        event.locked_code if event.locked_band else None,
    )


def roll_contributions(c: Characteristics | None) -> frozenset[Contribution]:
    """One on the roll of the pupil's current school and year group (and their latest class), unless
    they have left."""
    if c is None or c.left_on is not None:
        return frozenset()
    cell = c.cell_in_class(c.year_group, c.latest_class)
    return frozenset({contribution(ROLL_MEASURE, c.school_id, cell + Band.AT.value)})


def slot_contributions(
    c: Characteristics | None, slot: Slot, results: Mapping[str, StoredResult]
) -> frozenset[Contribution]:
    """Every counter of one period this pupil counts in (none until the pupil record arrives, and
    none in periods that started after they left). Counter fields are the cell of the pupil's
    current characteristics with the result's own year group (and their class in the slot's year), then
    the band (or model code)."""
    if c is None or not results or not c.on_roll_in(slot):
        return frozenset()
    counted: set[Contribution] = set()
    locked: dict[str, tuple[str, str, str]] = {}
    """subject -> (school, cell, locked band)"""
    cells: dict[str, str] = {}
    academic_year = split_slot(slot)[0]
    for subject, (school, year_group, entered, locked_band, _version, code) in results.items():
        cell = cells.get(year_group) or cells.setdefault(year_group, c.cell(year_group, academic_year))
        if entered is not None:
            counted.add(contribution(entered_measure(subject), school, cell + entered))
        if locked_band is not None:
            locked[subject] = (school, cell, locked_band)
            counted.add(contribution(subject, school, cell + locked_band))
            if code is not None:
                counted.add(contribution(model_measure(subject), school, cell + code))
    if not locked:
        return frozenset(counted)
    bands = {subject: _BANDS[band] for subject, (_school, _cell, band) in locked.items()}
    for measure, rule, anchor_subject in COMBINED_MEASURES:
        band = rule(bands)
        if band is not None:
            school, cell, _band = locked[anchor_subject]
            counted.add(contribution(measure, school, cell + band.value))
    school, cell, _band = locked[_presence_anchor(locked)]
    counted.add(contribution(PUPILS_MEASURE, school, cell + Band.AT.value))
    return frozenset(counted)


def _presence_anchor(results: Mapping[str, object]) -> str:
    """The result a pupil's presence in a period is filed under: reading, else goal E01, else the first."""
    for subject in (CORE_SUBJECTS[0], EYFS_GOALS[0]):
        if subject in results:
            return subject
    return min(results)
