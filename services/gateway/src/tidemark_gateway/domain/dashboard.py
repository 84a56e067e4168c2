"""The Summative Dashboard: Primary and EYFS Subjects Overview tiles with their change, the two
Diminishing the Difference widgets and Progress Over Time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tidemark_gateway.domain.change import Direction, change_since
from tidemark_gateway.domain.gaps import GAPS, GapKind, GapTile, gap_of, gap_tile
from tidemark_gateway.domain.measures import (
    DISADVANTAGED_GAP_MEASURE,
    EYFS_OVERVIEW,
    GENDER_GAP_MEASURE,
    GLD_RWM,
    PRIMARY_OVERVIEW,
    measure_label,
)
from tidemark_gateway.domain.reports import GROUP_LABELS, SchoolCounters
from tidemark_gateway.domain.statutory import CategoryCount
from tidemark_gateway.domain.trends import PeriodPoint, series
from tidemark_gateway.domain.counter_arrays import tally
from tidemark_schemas.aggregates import BandCounts, PupilFilter
from tidemark_schemas.calendar import PeriodRef


@dataclass(frozen=True, slots=True)
class SubjectTile:
    measure: str
    label: str
    n: int
    at_or_above: int
    pct: float | None
    previous_pct: float | None
    change: float | None
    display: str
    direction: Direction


@dataclass(frozen=True, slots=True)
class SummativeDashboard:
    academic_year: str
    period: str
    previous_period: PeriodRef
    last_updated: str | None
    primary_subjects: list[SubjectTile]
    eyfs_subjects: list[SubjectTile]
    gender_gap: GenderGap
    disadvantaged_gap: DisadvantagedGap
    progress_over_time: list[PeriodPoint]
    progress_from_statutory: list[CategoryCount]


@dataclass(frozen=True, slots=True)
class GenderGap:
    """Diminishing the Difference (Gender): gap = % female - % male."""

    measure: str
    female: SubjectTile
    male: SubjectTile
    gap: GapTile


@dataclass(frozen=True, slots=True)
class DisadvantagedGap:
    """Diminishing the Difference (Disadvantaged): gap = % not disadvantaged - % disadvantaged."""

    measure: str
    not_disadvantaged: SubjectTile
    disadvantaged: SubjectTile
    gap: GapTile


def subject_tile(
    measure: str, current: SchoolCounters, previous: SchoolCounters, pupil_filter: PupilFilter
) -> SubjectTile:
    """Trust-wide (pooled over the schools in scope) % at or above, now and in the previous period."""
    now = tally(current, None, pupil_filter).all_pupils
    before = tally(previous, None, pupil_filter).all_pupils
    return tile(measure, measure_label(measure), now, before)


def tile(measure: str, label: str, now: BandCounts, before: BandCounts) -> SubjectTile:
    change = change_since(now.pct, before.pct)
    return SubjectTile(
        measure=measure,
        label=label,
        n=now.n,
        at_or_above=now.at_or_above,
        pct=now.pct,
        previous_pct=before.pct,
        change=change.change,
        display=change.display,
        direction=change.direction,
    )


def gap_widget(
    measure: str, kind: GapKind, current: SchoolCounters, previous: SchoolCounters, pupil_filter: PupilFilter
) -> tuple[SubjectTile, SubjectTile, GapTile]:
    """Both groups' tiles (labelled with the group) and their gap, now and in the previous period.
    The caller's filters still apply: filtering on sex=F leaves the male tile, and so the gap, empty."""
    now = tally(current, kind.grouping, pupil_filter).groups
    before = tally(previous, kind.grouping, pupil_filter).groups
    labels = GROUP_LABELS[kind.grouping]
    first, second = (
        tile(measure, labels[group], now.get(group, BandCounts()), before.get(group, BandCounts()))
        for group in (kind.first, kind.second)
    )
    gap = gap_tile(gap_of(first.pct, second.pct), gap_of(first.previous_pct, second.previous_pct))
    return first, second, gap


def summative_dashboard(
    ref: PeriodRef,
    previous: PeriodRef,
    window: Sequence[PeriodRef],
    counters: Mapping[tuple[PeriodRef, str], SchoolCounters],
    pupil_filter: PupilFilter,
    last_updated: str | None,
    progress_from_statutory: list[CategoryCount] | None = None,
) -> SummativeDashboard:
    """`counters` holds, for this period and the previous one, each overview measure's counters, and
    the gld_rwm counters of every period of `window` (Progress Over Time). The Progress From
    Statutory Assessment tiles come from the statutory projection (`domain.statutory`)."""

    def tiles(measures: tuple[str, ...]) -> list[SubjectTile]:
        return [
            subject_tile(measure, counters.get((ref, measure), ()), counters.get((previous, measure), ()), pupil_filter)
            for measure in measures
        ]

    def gap(measure: str, kind: GapKind) -> tuple[SubjectTile, SubjectTile, GapTile]:
        return gap_widget(measure, kind, counters.get((ref, measure), ()), counters.get((previous, measure), ()),
                          pupil_filter)

    return SummativeDashboard(
        ref.academic_year,
        ref.period,
        previous,
        last_updated,
        primary_subjects=tiles(PRIMARY_OVERVIEW),
        eyfs_subjects=tiles(EYFS_OVERVIEW),
        gender_gap=GenderGap(GENDER_GAP_MEASURE, *gap(GENDER_GAP_MEASURE, GAPS["sex"])),
        disadvantaged_gap=DisadvantagedGap(
            DISADVANTAGED_GAP_MEASURE, *gap(DISADVANTAGED_GAP_MEASURE, GAPS["disadvantaged"])
        ),
        progress_over_time=series(window, {r: counters.get((r, GLD_RWM), ()) for r in window}, pupil_filter),
        progress_from_statutory=progress_from_statutory or [],
    )
