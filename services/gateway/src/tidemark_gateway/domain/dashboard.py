"""The Summative Dashboard's Primary Subjects Overview: one tile per measure with its change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tidemark_gateway.domain.change import Direction, change_since
from tidemark_gateway.domain.measures import PRIMARY_OVERVIEW, measure_label
from tidemark_gateway.domain.reports import SchoolCounters
from tidemark_schemas.aggregates import PupilFilter, tally
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


def subject_tile(
    measure: str, current: SchoolCounters, previous: SchoolCounters, pupil_filter: PupilFilter
) -> SubjectTile:
    """Trust-wide (pooled over the schools in scope) % at or above, now and in the previous period."""
    now = tally(current, None, pupil_filter).all_pupils
    before = tally(previous, None, pupil_filter).all_pupils
    change = change_since(now.pct, before.pct)
    return SubjectTile(
        measure=measure,
        label=measure_label(measure),
        n=now.n,
        at_or_above=now.at_or_above,
        pct=now.pct,
        previous_pct=before.pct,
        change=change.change,
        display=change.display,
        direction=change.direction,
    )


def summative_dashboard(
    ref: PeriodRef,
    previous: PeriodRef,
    counters: Mapping[tuple[PeriodRef, str], SchoolCounters],
    pupil_filter: PupilFilter,
    last_updated: str | None,
) -> SummativeDashboard:
    """`counters` holds, for this period and the previous one, each overview measure's counters."""
    tiles = [
        subject_tile(measure, counters.get((ref, measure), ()), counters.get((previous, measure), ()), pupil_filter)
        for measure in PRIMARY_OVERVIEW
    ]
    return SummativeDashboard(ref.academic_year, ref.period, previous, last_updated, tiles)
