"""Which counters a pupil adds one to, from their whole state (pure): each locked result, each
combined measure, presence in a period (`pupils`), each entered value (`entered.<subject>`) and
the current roll. Applying any change is then
"retract the old contributions, add the new ones": corrections, unlocks, characteristic changes,
leavers and school moves all reduce to the same difference of two sets.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping
from functools import lru_cache

from tidemark_metrics.domain.pupil_state import Characteristics, Contribution, PupilState, StoredResult, contribution
from tidemark_schemas.aggregates import PUPILS_MEASURE, ROLL_MEASURE, Cell, encode_field, entered_measure
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.rules import (
    COMBINED_ALL_GOALS,
    COMBINED_GLD,
    COMBINED_RWM,
    combined_all_goals,
    combined_gld,
    combined_rwm,
    on_roll_during,
)
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, Band, YearGroup

CombinedRule = Callable[[Mapping[str, Band]], Band | None]

COMBINED_MEASURES: tuple[tuple[str, CombinedRule, str], ...] = (
    # (measure, rule, the subject whose school and year group the combined result is filed under)
    (COMBINED_RWM, combined_rwm, CORE_SUBJECTS[0]),
    (COMBINED_GLD, combined_gld, EYFS_GOALS[0]),
    (COMBINED_ALL_GOALS, combined_all_goals, EYFS_GOALS[0]),
)

Slot = tuple[str, str]
"""(academic_year, period)"""

_BANDS = {band.value: band for band in Band}
NO_SLOT = "-"
"""Year and period of contributions that belong to no period (the current roll)."""


def contributions(state: PupilState, slots: Collection[Slot] | None = None) -> frozenset[Contribution]:
    """Every counter this pupil counts in: one per locked result and per combined measure that exists.

    With `slots`, only those periods are recomputed and the others kept from `state.contributions`
    (a lock touches one period of eighteen; a characteristic change needs them all).
    """
    c = state.characteristics
    if c is None:
        return frozenset()  # not placeable in any group until the pupil record arrives
    locked: dict[Slot, dict[str, StoredResult]] = defaultdict(dict)
    entered: dict[Slot, dict[str, StoredResult]] = defaultdict(dict)
    for key, result in state.results.items():
        year, period, subject = key.split("|")
        if slots is not None and (year, period) not in slots:
            continue
        if result[3] is not None:
            locked[(year, period)][subject] = result
        if result[2] is not None:
            entered[(year, period)][subject] = result

    counted: set[Contribution] = set()
    if slots is None:
        if c.left_on is None:
            counted.add(contribution(NO_SLOT, NO_SLOT, ROLL_MEASURE, c.school_id, _field(c, c.year_group, Band.AT)))
    else:
        counted = {k for k in state.contributions if tuple(k.split("|", 2)[:2]) not in slots}

    for (year, period), results in entered.items():
        if on_roll_during(c.left_on, PeriodRef(year, period)):
            for subject, result in results.items():
                band = _BANDS[result[2]]  # type: ignore[index]
                counted.add(contribution(year, period, entered_measure(subject), result[0], _field(c, result[1], band)))

    for (year, period), results in locked.items():
        if not on_roll_during(c.left_on, PeriodRef(year, period)):
            continue
        bands = {subject: _BANDS[result[3]] for subject, result in results.items()}  # type: ignore[index]
        for subject, result in results.items():
            counted.add(contribution(year, period, subject, result[0], _field(c, result[1], bands[subject])))
        for measure, rule, anchor_subject in COMBINED_MEASURES:
            band = rule(bands)
            if band is not None:
                anchor = results[anchor_subject]
                counted.add(contribution(year, period, measure, anchor[0], _field(c, anchor[1], band)))
        anchor = results[_presence_anchor(results)]
        counted.add(contribution(year, period, PUPILS_MEASURE, anchor[0], _field(c, anchor[1], Band.AT)))
    return frozenset(counted)


def _presence_anchor(results: Mapping[str, StoredResult]) -> str:
    """The result a pupil's presence in a period is filed under: reading, else goal E01, else the first."""
    for subject in (CORE_SUBJECTS[0], EYFS_GOALS[0]):
        if subject in results:
            return subject
    return min(results)


@lru_cache(maxsize=65536)
def _field(c: Characteristics, year_group: str, band: Band) -> str:
    cell = Cell(YearGroup(year_group), c.sex, c.disadvantaged, c.sen, c.eal, c.ethnic_group, c.lac)
    return encode_field(cell, band)


def delta(before: frozenset[Contribution], after: frozenset[Contribution]) -> Counter[Contribution]:
    """+1 for each new contribution, -1 for each retracted one."""
    change: Counter[Contribution] = Counter()
    for item in after - before:
        change[item] += 1
    for item in before - after:
        change[item] -= 1
    return change
