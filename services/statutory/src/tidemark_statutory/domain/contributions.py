"""Which counters a pupil adds one to in the statutory projection (pure).

- Per statutory measure and academic year the pupil is eligible for: one, under the outcome label
  (`tidemark_statutory.domain.outcomes`), filed under the school recorded on the results and the
  year group the measure belongs to. Leavers count in no statutory measure.
- Per period in which the pupil has a combined RWM band (Years 1-6): one under their progress
  category (`tidemark_schemas.progress`), and one naming the pupil for the drill-down's list.
  Like the summative figures, a pupil counts in the periods that started before they left.

As in the metrics service, applying any change is "retract the old contributions, add the new".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from functools import lru_cache

from tidemark_schemas.aggregates import Slot, split_slot
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.progress import PriorAttainment, progress_category
from tidemark_schemas.rules import combined_rwm, on_roll_during
from tidemark_schemas.statutory import ASSESSMENT_YEAR_GROUP, COMPONENTS, Assessment, StatutoryValue
from tidemark_schemas.statutory_measures import MEASURES
from tidemark_schemas.vocabulary import CORE_SUBJECTS, Band, YearGroup
from tidemark_statutory.domain.outcomes import outcomes, prior_attainment, statutory_leaver
from tidemark_statutory.domain.pupil_state import (
    Contribution,
    PupilState,
    SlotState,
    StatutoryKey,
    StoredStatutory,
    SummativeResult,
)

PROGRESS = "progress"
PROGRESS_PUPILS = "pupils"

MEASURE_YEAR_GROUP: dict[str, YearGroup] = {"phonics.y2": YearGroup.Y2, "phonics.ks1": YearGroup.Y2}
"""Measures counted in another year group than their assessment's (`ASSESSMENT_YEAR_GROUP`)."""


def measure_year_group(measure: str) -> YearGroup:
    return MEASURE_YEAR_GROUP.get(measure) or ASSESSMENT_YEAR_GROUP[MEASURES[measure].assessment]


def recompute(state: PupilState, pupil_id: str, slots: Collection[Slot] | None = None) -> PupilState:
    """`state` with contributions recomputed: the statutory ones and every loaded slot when `slots`
    is None (a characteristic or statutory change), else only `slots` (summative locks)."""
    c = state.characteristics
    locked = state.locked_statutory()
    priors: dict[YearGroup, PriorAttainment | None] = {}

    def prior_of(year_group: YearGroup) -> PriorAttainment | None:
        if year_group not in priors:
            priors[year_group] = prior_attainment(locked, year_group)
        return priors[year_group]

    new_slots = dict(state.slots)
    for slot in state.slots if slots is None else slots:
        current = state.slots[slot]
        new_slots[slot] = SlotState(current.results, slot_contributions(pupil_id, c, slot, current.results, prior_of))
    statutory = (
        statutory_contributions(c, state.statutory, locked) if slots is None else state.statutory_contributions
    )
    return replace(state, statutory_contributions=statutory, slots=new_slots)


def statutory_contributions(
    c: Characteristics | None,
    results: Mapping[StatutoryKey, StoredStatutory],
    locked: Mapping[StatutoryKey, StatutoryValue],
) -> frozenset[Contribution]:
    """"year|measure|school|cell+label" for every measure the pupil is eligible for."""
    if c is None:
        return frozenset()
    found = set()
    for (year, measure), label in outcomes(locked).items():
        if statutory_leaver(c.left_on, year):
            continue
        school = _school_of(results, year, MEASURES[measure].assessment)
        found.add(f"{year}|{measure}|{school}|{c.cell(measure_year_group(measure).value)}{label}")
    return frozenset(found)


def _school_of(results: Mapping[StatutoryKey, StoredStatutory], year: str, assessment: Assessment) -> str:
    """The school recorded on the pupil's results of that assessment in that year (in component
    order), else on their latest result of that assessment (a phonics retake year measure that
    only has the Year 1 check)."""
    order = list(COMPONENTS[assessment])
    same_year = sorted(
        (order.index(component), school)
        for (y, a, component), (school, _value, _version) in results.items()
        if y == year and a is assessment
    )
    if same_year:
        return same_year[0][1]
    return max((y, school) for (y, a, _c), (school, _v, _n) in results.items() if a is assessment)[1]


def slot_contributions(
    pupil_id: str,
    c: Characteristics | None,
    slot: Slot,
    results: Mapping[str, SummativeResult],
    prior_of: Callable[[YearGroup], PriorAttainment | None],
) -> frozenset[Contribution]:
    """The pupil's progress category in one period, filed under their reading result's school and
    year group: counted once, and once in the list of pupils."""
    if c is None or len(results) < len(CORE_SUBJECTS) or not _on_roll(c, slot):
        return frozenset()
    bands = {subject: Band(result[2]) for subject, result in results.items() if result[2] is not None}
    current = combined_rwm(bands)
    if current is None:
        return frozenset()
    school, year_group = results[CORE_SUBJECTS[0]][0], YearGroup(results[CORE_SUBJECTS[0]][1])
    category = progress_category(prior_of(year_group), current)
    if category is None:
        return frozenset()
    field = c.cell(year_group.value) + category.value
    return frozenset({f"{PROGRESS}|{school}|{field}", f"{PROGRESS_PUPILS}|{school}|{pupil_id}|{field}"})


@lru_cache(maxsize=4096)
def _period_of(slot: Slot) -> PeriodRef:
    return PeriodRef(*split_slot(slot))


def _on_roll(c: Characteristics, slot: Slot) -> bool:
    return c.left_on is None or on_roll_during(c.left_on, _period_of(slot))
