"""Which counters a pupil adds one to in the statutory projection (pure).

- Per statutory measure and academic year the pupil is eligible for: one, under the outcome label
  (`tidemark_statutory.domain.outcomes`), filed under the school recorded on the results and the
  year group the measure belongs to. Leavers count in no statutory measure.
- Per period in which the pupil has a combined RWM band (Years 1-6): one under their progress
  category (`tidemark_schemas.progress`), and one naming the pupil for the drill-down's list.
  Like the summative figures, a pupil counts in the periods that started before they left.

As in every projection, the engine applies any change as "retract the old contributions, add the new".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tidemark_schemas.aggregates import Slot, split_slot
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.progress import PriorAttainment, progress_category
from tidemark_schemas.rules import combined_rwm
from tidemark_schemas.statutory import ASSESSMENT_YEAR_GROUP, COMPONENTS, Assessment, StatutoryValue
from tidemark_schemas.statutory_measures import MEASURES
from tidemark_schemas.vocabulary import CORE_SUBJECTS, Band, YearGroup
from tidemark_statutory.domain.outcomes import outcomes, statutory_leaver

StatutoryKey = tuple[str, Assessment, str]
"""(academic_year, assessment, component)"""

StoredStatutory = tuple[str, StatutoryValue | None, int]
"""(school_id, the counted value or None when not locked, version)"""

SummativeResult = tuple[str, str, str | None, int]
"""(school_id, year_group, locked band or None, version) of a reading, writing or maths result."""

Contribution = str
""""measure|school_id|counter field"; statutory contributions are prefixed with their year."""

PROGRESS = "progress"
PROGRESS_PUPILS = "pupils"

MEASURE_YEAR_GROUP: dict[str, YearGroup] = {"phonics.y2": YearGroup.Y2, "phonics.ks1": YearGroup.Y2}
"""Measures counted in another year group than their assessment's (`ASSESSMENT_YEAR_GROUP`)."""


def measure_year_group(measure: str) -> YearGroup:
    return MEASURE_YEAR_GROUP.get(measure) or ASSESSMENT_YEAR_GROUP[MEASURES[measure].assessment]


def locked_values(results: Mapping[StatutoryKey, StoredStatutory]) -> dict[StatutoryKey, StatutoryValue]:
    """The values that count (locked)."""
    return {key: value for key, (_school, value, _version) in results.items() if value is not None}


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
        found.add(f"{year}|{measure}|{school}|{c.cell(measure_year_group(measure).value, year)}{label}")
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
    if c is None or len(results) < len(CORE_SUBJECTS) or not c.on_roll_in(slot):
        return frozenset()
    bands = {subject: Band(result[2]) for subject, result in results.items() if result[2] is not None}
    current = combined_rwm(bands)
    if current is None:
        return frozenset()
    school, year_group = results[CORE_SUBJECTS[0]][0], YearGroup(results[CORE_SUBJECTS[0]][1])
    category = progress_category(prior_of(year_group), current)
    if category is None:
        return frozenset()
    field = c.cell(year_group.value, split_slot(slot)[0]) + category.value
    return frozenset({f"{PROGRESS}|{school}|{field}", f"{PROGRESS_PUPILS}|{school}|{pupil_id}|{field}"})


def category_of(contributions: frozenset[Contribution]) -> tuple[str, str] | None:
    """(school, progress category) of a slot's contributions, if the pupil has one."""
    for item in contributions:
        measure, school, field = item.split("|", 2)
        if measure == PROGRESS:
            return school, field.rsplit("|", 1)[1]
    return None
