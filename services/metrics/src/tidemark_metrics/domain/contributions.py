"""Which counters a pupil adds one to, from their state (pure): per slot, each locked result (and
its model code), each combined measure, presence in the period (`pupils`) and each entered value
(`entered.<subject>`); outside any slot, the current roll. Applying any change is then "retract
the old contributions, add the new ones": corrections, unlocks, characteristic changes, leavers
and school moves all reduce to the same difference of two sets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from functools import lru_cache

from tidemark_metrics.domain.pupil_state import (
    Contribution,
    PupilState,
    SlotState,
    StoredResult,
    contribution,
)
from tidemark_schemas.aggregates import PUPILS_MEASURE, ROLL_MEASURE, Slot, entered_measure, model_measure, split_slot
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.rules import (
    COMBINED_ALL_GOALS,
    COMBINED_GLD,
    COMBINED_RWM,
    combined_all_goals,
    combined_gld,
    combined_rwm,
    on_roll_during,
)
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, Band

CombinedRule = Callable[[Mapping[str, Band]], Band | None]

COMBINED_MEASURES: tuple[tuple[str, CombinedRule, str], ...] = (
    # (measure, rule, the subject whose school and year group the combined result is filed under)
    (COMBINED_RWM, combined_rwm, CORE_SUBJECTS[0]),
    (COMBINED_GLD, combined_gld, EYFS_GOALS[0]),
    (COMBINED_ALL_GOALS, combined_all_goals, EYFS_GOALS[0]),
)

_BANDS = {band.value: band for band in Band}


def recompute(state: PupilState, slots: Collection[Slot] | None = None) -> PupilState:
    """`state` with the contributions of `slots` recomputed; None means the roll and every slot
    loaded (a characteristic change moves them all)."""
    c = state.characteristics
    chosen = state.slots if slots is None else slots
    new_slots = dict(state.slots)
    for slot in chosen:
        current = state.slots[slot]
        new_slots[slot] = SlotState(current.results, slot_contributions(c, slot, current.results))
    roll = roll_contributions(c) if slots is None else state.roll
    return replace(state, roll=roll, slots=new_slots)


def roll_contributions(c: Characteristics | None) -> frozenset[Contribution]:
    """One on the roll of the pupil's current school and year group, unless they have left."""
    if c is None or c.left_on is not None:
        return frozenset()
    return frozenset({contribution(ROLL_MEASURE, c.school_id, c.cell(c.year_group) + Band.AT.value)})


def slot_contributions(
    c: Characteristics | None, slot: Slot, results: Mapping[str, StoredResult]
) -> frozenset[Contribution]:
    """Every counter of one period this pupil counts in (none until the pupil record arrives, and
    none in periods that started after they left). Counter fields are the cell of the pupil's
    current characteristics with the result's own year group, then the band (or model code)."""
    if c is None or not results or not _on_roll(c, slot):
        return frozenset()
    counted: set[Contribution] = set()
    locked: dict[str, StoredResult] = {}
    cells: dict[str, str] = {}
    for subject, result in results.items():
        school, year_group, entered, locked_band, _version, code = result
        cell = cells.get(year_group) or cells.setdefault(year_group, c.cell(year_group))
        if entered is not None:
            counted.add(contribution(entered_measure(subject), school, cell + entered))
        if locked_band is not None:
            locked[subject] = result
            counted.add(contribution(subject, school, cell + locked_band))
            if code is not None:
                counted.add(contribution(model_measure(subject), school, cell + code))
    if not locked:
        return frozenset(counted)
    bands = {subject: _BANDS[result[3]] for subject, result in locked.items()}  # type: ignore[index]
    for measure, rule, anchor_subject in COMBINED_MEASURES:
        band = rule(bands)
        if band is not None:
            anchor = locked[anchor_subject]
            counted.add(contribution(measure, anchor[0], cells[anchor[1]] + band.value))
    anchor = locked[_presence_anchor(locked)]
    counted.add(contribution(PUPILS_MEASURE, anchor[0], cells[anchor[1]] + Band.AT.value))
    return frozenset(counted)


def _presence_anchor(results: Mapping[str, StoredResult]) -> str:
    """The result a pupil's presence in a period is filed under: reading, else goal E01, else the first."""
    for subject in (CORE_SUBJECTS[0], EYFS_GOALS[0]):
        if subject in results:
            return subject
    return min(results)


@lru_cache(maxsize=4096)
def _period_of(slot: Slot) -> PeriodRef:
    return PeriodRef(*split_slot(slot))


def _on_roll(c: Characteristics, slot: Slot) -> bool:
    return c.left_on is None or on_roll_during(c.left_on, _period_of(slot))


def delta(before: frozenset[Contribution], after: frozenset[Contribution]) -> Counter[Contribution]:
    """+1 for each new contribution, -1 for each retracted one."""
    change: Counter[Contribution] = Counter()
    for item in after - before:
        change[item] += 1
    for item in before - after:
        change[item] -= 1
    return change
