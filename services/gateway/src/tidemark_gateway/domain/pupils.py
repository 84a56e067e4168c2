"""Pupil Overview (who has data) and data completion (who is still missing an entry).

Pupil Overview counts pupils with at least one locked result in the period (the `pupils` counters),
not the number on roll. Data completion compares entered values (draft or locked) with the
**current** roll: the roll hash holds the pupils on roll today with their current year group, so
for an earlier period the "on roll" figure is today's, not that period's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from tidemark_gateway.domain.counter_arrays import CounterHash, pupils_by_year_group
from tidemark_gateway.domain.measures import measure_label
from tidemark_gateway.domain.reports import (
    ALL_PUPILS_GROUP,
    ALL_PUPILS_LABEL,
    GROUP_LABELS,
    LastUpdated,
    SchoolCounters,
    ordered_groups,
)
from tidemark_schemas.aggregates import GROUPINGS, PupilFilter, decode_field
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, YearGroup

BREAKDOWNS: tuple[str, ...] = ("sex", "disadvantaged", "sen", "eal", "ethnicity", "lac")
"""The characteristics every Pupil Overview row is broken down by, in column order."""

COMPLETION_SUBJECTS: dict[YearGroup, tuple[str, ...]] = {
    year_group: EYFS_GOALS if year_group is YearGroup.R else (*CORE_SUBJECTS, "science")
    for year_group in YearGroup
}
"""What data completion checks per year group: the 17 goals in Reception, R, W, M, science in Years 1-6."""


@dataclass(frozen=True, slots=True)
class GroupCount:
    group: str
    label: str
    pupils: int


@dataclass(frozen=True, slots=True)
class OverviewRow:
    group: str
    label: str
    pupils: Annotated[int, Field(description="Pupils with at least one locked result in the period (not the roll)")]
    breakdown: Annotated[
        dict[str, list[GroupCount]],
        Field(description="sex, disadvantaged, sen, eal, ethnicity, lac -> a count for every group, 0 included, "
              "in natural order"),
    ]


@dataclass(frozen=True, slots=True)
class PupilOverview:
    academic_year: str
    period: str
    by: str
    last_updated: LastUpdated
    rows: list[OverviewRow]
    all_pupils: Annotated[OverviewRow, Field(description='group "all", label "All Pupils"')]


def _row(group: str, label: str, counts: Mapping[str, Counter[str]], total: int) -> OverviewRow:
    breakdown = {
        characteristic: [
            GroupCount(value, value_label, counts.get(characteristic, Counter())[value])
            for value, value_label in GROUP_LABELS[characteristic].items()
        ]
        for characteristic in BREAKDOWNS
    }
    return OverviewRow(group, label, total, breakdown)


def pupil_overview(
    ref: PeriodRef,
    by: str,
    counters: SchoolCounters,
    pupil_filter: PupilFilter,
    school_names: Mapping[str, str],
    last_updated: str | None,
) -> PupilOverview:
    """Counts of pupils with data per group, each broken down by every characteristic."""
    group_of = GROUPINGS[by]
    totals: Counter[str] = Counter()
    counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for school_id, fields in counters:
        for raw, pupils in fields.items():
            cell, _band = decode_field(raw)
            if pupils == 0 or not pupil_filter.admits(school_id, cell):
                continue
            for key in (ALL_PUPILS_GROUP, group_of(school_id, cell)):
                totals[key] += pupils
                for characteristic in BREAKDOWNS:
                    counts[key][characteristic][GROUPINGS[characteristic](school_id, cell)] += pupils
    present = [key for key in totals if key != ALL_PUPILS_GROUP]
    schools = pupil_filter.schools if pupil_filter.schools is not None else frozenset()
    rows = [
        _row(group, label, counts.get(group, {}), totals[group])
        for group, label in ordered_groups(by, present, school_names, schools)
    ]
    return PupilOverview(
        ref.academic_year, ref.period, by, last_updated, rows,
        _row(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, counts.get(ALL_PUPILS_GROUP, {}), totals[ALL_PUPILS_GROUP]),
    )


class CompletionStatus(StrEnum):
    """How a row reads: leavers' entries are not missing results, so they never make a row incomplete."""

    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    LEAVERS_ONLY = "leavers_only"
    """Nobody of the year group is on roll today, but pupils who have left had entries."""


@dataclass(frozen=True, slots=True)
class CompletionRow:
    school_id: str
    school: Annotated[str, Field(description="The school's name")]
    year_group: str
    subject: str
    label: str
    on_roll: Annotated[
        int, Field(description="Pupils on roll TODAY in this year group (the current roll, whatever the period)")
    ]
    entered: Annotated[int, Field(description="Pupils with an entered value, draft or locked")]
    locked: Annotated[int, Field(description="Pupils with a locked result")]
    missing: Annotated[int, Field(description="max(0, on_roll - entered): results still to enter")]
    complete: Annotated[bool, Field(description="entered >= on_roll > 0 (green): nothing missing")]
    left: Annotated[int, Field(
        description="max(0, entered - on_roll): entries of pupils who have left since (leavers), not missing results")] = 0
    status: Annotated[CompletionStatus, Field(
        description="complete, incomplete (results missing) or leavers_only (nobody on roll, leavers' entries)")] = (
        CompletionStatus.INCOMPLETE)


@dataclass(frozen=True, slots=True)
class DataCompletion:
    academic_year: str
    period: str
    last_updated: LastUpdated
    rows: Annotated[
        list[CompletionRow],
        Field(description="Per school (by name), year group (R first) and subject; year groups with nobody on roll "
              "and nothing entered are left out"),
    ]


def by_year_group(fields: Mapping[str, int] | None) -> Counter[YearGroup]:
    """Pupils per year group of one school's counter (or roll) hash, every band summed."""
    if isinstance(fields, CounterHash):
        return Counter(pupils_by_year_group(fields))
    result: Counter[YearGroup] = Counter()
    for raw, pupils in (fields or {}).items():
        cell, _band = decode_field(raw)
        result[cell.year_group] += int(pupils)
    return result


def completion_row(
    school_id: str, school: str, year_group: YearGroup, subject: str, on_roll: int, entered: int, locked: int
) -> CompletionRow:
    """Pupils who left after an entry make entered exceed the current roll: those entries are the
    leavers' (`left`), not missing results, so the row is complete when nothing is missing (and
    someone is on roll), and a year group with nobody left on roll reads as leavers only."""
    missing = max(0, on_roll - entered)
    complete = on_roll > 0 and missing == 0
    status = (CompletionStatus.COMPLETE if complete
              else CompletionStatus.LEAVERS_ONLY if on_roll == 0 and entered > 0 else CompletionStatus.INCOMPLETE)
    return CompletionRow(
        school_id, school, year_group.value, subject, measure_label(subject), on_roll, entered, locked,
        missing, complete, max(0, entered - on_roll), status,
    )


def data_completion(
    ref: PeriodRef,
    schools: Collection[str],
    school_names: Mapping[str, str],
    roll: Mapping[str, Mapping[str, int]],
    entered: Mapping[tuple[str, str], Mapping[str, int]],
    locked: Mapping[tuple[str, str], Mapping[str, int]],
    last_updated: str | None,
) -> DataCompletion:
    """One row per (school, year group, subject), schools by name, year groups in school order and
    subjects in `COMPLETION_SUBJECTS` order. `roll` is school -> roll hash; `entered` and `locked` are
    (school, subject) -> counter hash. A year group with nobody on roll and nothing entered or locked
    has no rows (a junior school has no Reception to complete)."""
    rows: list[CompletionRow] = []
    for school_id, name in ordered_groups("school", (), school_names, schools):
        on_roll = by_year_group(roll.get(school_id))
        subjects_of_school = {subject for subjects in COMPLETION_SUBJECTS.values() for subject in subjects}
        entries = {subject: by_year_group(entered.get((school_id, subject))) for subject in subjects_of_school}
        locks = {subject: by_year_group(locked.get((school_id, subject))) for subject in subjects_of_school}
        for year_group, subjects in COMPLETION_SUBJECTS.items():
            for subject in subjects:
                row = completion_row(
                    school_id, name, year_group, subject, on_roll[year_group],
                    entries[subject][year_group], locks[subject][year_group],
                )
                if row.on_roll or row.entered or row.locked:
                    rows.append(row)
    return DataCompletion(ref.academic_year, ref.period, last_updated, rows)
