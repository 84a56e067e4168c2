"""Which counters a pupil adds one to, from their whole state (pure). Applying any change is then
"retract the old contributions, add the new ones": corrections, unlocks, characteristic changes,
leavers and school moves all reduce to the same difference of two sets.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping

from tidemark_metrics.domain.pupil_state import Contribution, PupilState, Result
from tidemark_schemas.aggregates import Cell, encode_field
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
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, Band

CombinedRule = Callable[[Mapping[str, Band]], Band | None]

COMBINED_MEASURES: tuple[tuple[str, CombinedRule, str], ...] = (
    # (measure, rule, the subject whose school and year group the combined result is filed under)
    (COMBINED_RWM, combined_rwm, CORE_SUBJECTS[0]),
    (COMBINED_GLD, combined_gld, EYFS_GOALS[0]),
    (COMBINED_ALL_GOALS, combined_all_goals, EYFS_GOALS[0]),
)


def contributions(state: PupilState) -> frozenset[Contribution]:
    """Every counter this pupil counts in: one per locked result and per combined measure that exists."""
    c = state.characteristics
    if c is None:
        return frozenset()  # not placeable in any group until the pupil record arrives
    by_period: dict[tuple[str, str], dict[str, Result]] = defaultdict(dict)
    for (year, period, subject), result in state.results.items():
        if result.locked is not None:
            by_period[(year, period)][subject] = result

    counted: set[Contribution] = set()
    for (year, period), results in by_period.items():
        if not on_roll_during(c.left_on, PeriodRef(year, period)):
            continue

        def add(measure: str, anchor: Result, band: Band) -> None:
            cell = Cell(anchor.year_group, c.sex, c.disadvantaged, c.sen, c.eal, c.ethnic_group, c.lac)
            counted.add((year, period, measure, anchor.school_id, encode_field(cell, band)))

        for subject, result in results.items():
            add(subject, result, result.locked)  # type: ignore[arg-type]
        bands = {subject: result.locked for subject, result in results.items()}
        for measure, rule, anchor_subject in COMBINED_MEASURES:
            band = rule(bands)  # type: ignore[arg-type]
            if band is not None:
                add(measure, results[anchor_subject], band)
    return frozenset(counted)


def delta(before: frozenset[Contribution], after: frozenset[Contribution]) -> Counter[Contribution]:
    """+1 for each new contribution, -1 for each retracted one."""
    change: Counter[Contribution] = Counter()
    for item in after - before:
        change[item] += 1
    for item in before - after:
        change[item] -= 1
    return change
