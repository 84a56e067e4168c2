"""Figures over time: Progress Over Time (one series per group over the 3-year window) and the
Diminishing the Difference report (two groups' % and their gap per period)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from tidemark_gateway.domain.change import Direction
from tidemark_gateway.domain.gaps import GAPS, GapKind, gap_of, gap_tile
from tidemark_gateway.domain.measures import SUBJECT_ROWS, measure_label
from tidemark_gateway.domain.reports import (
    ALL_PUPILS_GROUP,
    ALL_PUPILS_LABEL,
    GROUP_LABELS,
    LastUpdated,
    SchoolCounters,
    ordered_groups,
)
from tidemark_gateway.domain.counter_arrays import tally
from tidemark_gateway.domain.small_groups import SmallGroupField
from tidemark_schemas.aggregates import GROUPINGS, BandCounts, PupilFilter
from tidemark_schemas.calendar import PeriodRef

BY_SUBJECT = "subject"
"""The extra grouping of views over several subjects: one row per subject of `SUBJECT_ROWS`."""

CountersByPeriod = Mapping[tuple[PeriodRef, str], SchoolCounters]
"""(period, measure) -> the counters of the schools in scope."""


def check_series_grouping(value: str) -> str:
    """Validator for `by` of Progress Over Time: a grouping of `aggregates.GROUPINGS` or `subject`."""
    if value not in GROUPINGS and value != BY_SUBJECT:
        raise ValueError(f"unknown grouping {value!r}; expected one of {', '.join((*GROUPINGS, BY_SUBJECT))}")
    return value


@dataclass(frozen=True, slots=True)
class PeriodPoint:
    """% at or above in one period; a period without data has n 0 and no pct (not 0%)."""

    academic_year: str
    period: str
    n: Annotated[int, Field(description="Pupils with a result in that period (0 when it has no data)")]
    at_or_above: int
    pct: Annotated[float | None, Field(description="Unrounded % at or above; null when n is 0")]
    small_group: SmallGroupField = False

    def group_size(self) -> int:
        return self.n

    @classmethod
    def of(cls, ref: PeriodRef, counts: BandCounts) -> PeriodPoint:
        return cls(ref.academic_year, ref.period, counts.n, counts.at_or_above, counts.pct)


def series(
    window: Sequence[PeriodRef], counters: Mapping[PeriodRef, SchoolCounters], pupil_filter: PupilFilter
) -> list[PeriodPoint]:
    """All Pupils (pooled) per period of `window`, oldest first; each period uses only the pupils
    assessed in it."""
    return [PeriodPoint.of(ref, tally(counters.get(ref, ()), None, pupil_filter).all_pupils) for ref in window]


WINDOW = "Every period of the selected year and the two before, oldest first"


@dataclass(frozen=True, slots=True)
class SeriesRow:
    group: Annotated[str, Field(description="Group id, or the subject for by=subject")]
    label: str
    series: Annotated[list[PeriodPoint], Field(description="One point per period of `periods`, oldest first")]


@dataclass(frozen=True, slots=True)
class ProgressOverTime:
    academic_year: Annotated[str, Field(description="The selected (latest) academic year of the window")]
    measure: str
    by: str
    last_updated: LastUpdated
    periods: Annotated[list[PeriodRef], Field(description=WINDOW)]
    rows: list[SeriesRow]
    all_pupils: Annotated[
        SeriesRow, Field(description='group "all", label "All Pupils": `measure` pooled over every pupil in scope')
    ]


def progress_over_time(
    window: Sequence[PeriodRef],
    measure: str,
    by: str,
    counters: CountersByPeriod,
    pupil_filter: PupilFilter,
    school_names: Mapping[str, str],
    last_updated: str | None,
) -> ProgressOverTime:
    """One series per group over every period of `window`, and the pooled All Pupils series of
    `measure`. By subject, the rows are reading, writing, maths and RWM (each pooled over the pupils
    in scope) and All Pupils is still `measure`. By school every school in scope has a row; other
    groupings list the groups with pupils in any period of the window."""
    current = window[-1].academic_year
    all_pupils = SeriesRow(
        ALL_PUPILS_GROUP,
        ALL_PUPILS_LABEL,
        series(window, {ref: counters.get((ref, measure), ()) for ref in window}, pupil_filter),
    )
    if by == BY_SUBJECT:
        rows = [
            SeriesRow(subject, measure_label(subject),
                      series(window, {ref: counters.get((ref, subject), ()) for ref in window}, pupil_filter))
            for subject in SUBJECT_ROWS
        ]
        return ProgressOverTime(current, measure, by, last_updated, list(window), rows, all_pupils)
    per_period = {ref: tally(counters.get((ref, measure), ()), by, pupil_filter).groups for ref in window}
    present = {group for groups in per_period.values() for group in groups}
    schools = pupil_filter.schools if pupil_filter.schools is not None else frozenset()
    rows = [
        SeriesRow(group, label, [PeriodPoint.of(ref, per_period[ref].get(group, BandCounts())) for ref in window])
        for group, label in ordered_groups(by, present, school_names, schools)
    ]
    return ProgressOverTime(current, measure, by, last_updated, list(window), rows, all_pupils)


@dataclass(frozen=True, slots=True)
class GroupRef:
    group: str
    label: str


@dataclass(frozen=True, slots=True)
class Figure:
    n: int
    at_or_above: int
    pct: Annotated[float | None, Field(description="Unrounded % at or above; null when n is 0")]
    small_group: SmallGroupField = False

    def group_size(self) -> int:
        return self.n

    @classmethod
    def of(cls, counts: BandCounts) -> Figure:
        return cls(counts.n, counts.at_or_above, counts.pct)


@dataclass(frozen=True, slots=True)
class GapPoint:
    academic_year: str
    period: str
    first: Figure
    second: Figure
    gap: Annotated[float | None, Field(description="Unrounded first.pct - second.pct; null when either is null")]
    previous_gap: Annotated[
        float | None,
        Field(description="The gap of the period before (the first point: the period just before the window)"),
    ]
    change: float | None
    display: str
    direction: Direction
    widening: Annotated[bool | None, Field(description="|gap| > |previous gap|; null when either is null")]


@dataclass(frozen=True, slots=True)
class GapReport:
    academic_year: str
    gap: Annotated[str, Field(json_schema_extra={"enum": list(GAPS)})]
    subject: str
    last_updated: LastUpdated
    first: Annotated[GroupRef, Field(description="Female, or Not disadvantaged")]
    second: Annotated[GroupRef, Field(description="Male, or Disadvantaged")]
    series: Annotated[list[GapPoint], Field(description=WINDOW)]


def gap_report(
    gap: str,
    kind: GapKind,
    subject: str,
    before_window: PeriodRef,
    window: Sequence[PeriodRef],
    counters: CountersByPeriod,
    pupil_filter: PupilFilter,
    last_updated: str | None,
) -> GapReport:
    """Per period of `window`: both groups' % at or above, the gap (first - second, unrounded) and its
    change and widening against the period before; the first period compares with `before_window`."""
    labels = GROUP_LABELS[kind.grouping]

    def figures(ref: PeriodRef) -> tuple[BandCounts, BandCounts]:
        groups = tally(counters.get((ref, subject), ()), kind.grouping, pupil_filter).groups
        return groups.get(kind.first, BandCounts()), groups.get(kind.second, BandCounts())

    points: list[GapPoint] = []
    previous_gap = gap_of(*(counts.pct for counts in figures(before_window)))
    for ref in window:
        first, second = figures(ref)
        now = gap_of(first.pct, second.pct)
        tile = gap_tile(now, previous_gap)
        points.append(
            GapPoint(ref.academic_year, ref.period, Figure.of(first), Figure.of(second), tile.gap, tile.previous_gap,
                     tile.change, tile.display, tile.direction, tile.widening)
        )
        previous_gap = now
    return GapReport(
        window[-1].academic_year, gap, subject, last_updated,
        GroupRef(kind.first, labels[kind.first]), GroupRef(kind.second, labels[kind.second]), points,
    )
