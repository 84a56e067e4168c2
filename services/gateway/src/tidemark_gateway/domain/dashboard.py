"""The Summative Dashboard: Primary and EYFS Subjects Overview tiles with their change, the two
Diminishing the Difference widgets and Progress Over Time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

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
from tidemark_gateway.domain.reports import GROUP_LABELS, LastUpdated, SchoolCounters
from tidemark_gateway.domain.national import NationalComparator
from tidemark_gateway.domain.statutory import CategoryCount, national_figures
from tidemark_gateway.domain.trends import PeriodPoint, series
from tidemark_gateway.domain.counter_arrays import tally
from tidemark_gateway.domain.small_groups import SmallGroupField
from tidemark_schemas.aggregates import BandCounts, PupilFilter
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.statutory_national import NationalGroup


@dataclass(frozen=True, slots=True)
class SubjectTile:
    """One measure's % at or above, pooled over the pupils in scope, and its change since the previous period."""

    measure: str
    label: str
    n: int
    at_or_above: int
    pct: Annotated[float | None, Field(description="Unrounded % at or above this period; null without data")]
    previous_pct: Annotated[float | None, Field(description="Unrounded % in the previous period; null without data")]
    change: Annotated[float | None, Field(description="pct - previous_pct to 1 dp; null when either is null")]
    display: Annotated[
        str, Field(description="'+2.3', '-1.0', '~ 0' (rounds to 0.0), 'no data' (none this period), '–' (none before)")
    ]
    direction: Annotated[Direction, Field(description="up: green up arrow; down: red down arrow")]
    small_group: SmallGroupField = False

    def group_size(self) -> int:
        return self.n


@dataclass(frozen=True, slots=True)
class SummativeDashboard:
    academic_year: str
    period: str
    previous_period: PeriodRef
    last_updated: LastUpdated
    primary_subjects: Annotated[
        list[SubjectTile], Field(description="Reading, writing, maths and combined RWM, in that order")
    ]
    eyfs_subjects: Annotated[
        list[SubjectTile], Field(description="Combined GLD and Combined (All Goals), in that order")
    ]
    gender_gap: Annotated[GenderGap, Field(description="Diminishing the Difference (Gender), on gld_rwm")]
    disadvantaged_gap: Annotated[
        DisadvantagedGap, Field(description="Diminishing the Difference (Disadvantaged), on rwm")
    ]
    progress_over_time: Annotated[
        list[PeriodPoint],
        Field(description="All Pupils gld_rwm for every period of the selected year and the two before, oldest first"),
    ]
    progress_from_statutory: Annotated[
        list[CategoryCount],
        Field(description="Progress From Statutory Assessment: pupils per category in this period (the seven, then "
              "not_categorised), pooled; open /v1/reports/progress-from-statutory?category= to drill down"),
    ]


@dataclass(frozen=True, slots=True)
class GenderGap:
    """Diminishing the Difference (Gender): gap = % female - % male."""

    measure: Annotated[str, Field(description="gld_rwm: GLD for Reception, RWM for Years 1-6, pooled")]
    female: SubjectTile
    male: SubjectTile
    gap: Annotated[GapTile, Field(description="% female - % male")]


@dataclass(frozen=True, slots=True)
class DisadvantagedGap:
    """Diminishing the Difference (Disadvantaged): gap = % not disadvantaged - % disadvantaged."""

    measure: Annotated[str, Field(description="rwm")]
    not_disadvantaged: SubjectTile
    disadvantaged: SubjectTile
    gap: Annotated[GapTile, Field(description="% not disadvantaged - % disadvantaged")]
    national_not_disadvantaged: Annotated[NationalComparator | None, Field(
        description="For reference, as the DfE compares: the % of non-disadvantaged pupils nationally at the "
        "expected standard in KS2 combined RWM (a statutory end of KS2 figure, not a teacher assessment), this "
        "year's or the latest published before; null when none")] = None


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


def ks2_rwm_national(academic_year: str, group: NationalGroup) -> NationalComparator | None:
    """The national KS2 combined RWM % at the expected standard for `group`, for reference beside the
    tracker's combined RWM."""
    return (national_figures("ks2.rwm", academic_year, group) or {}).get("exs_plus_pct")


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
            DISADVANTAGED_GAP_MEASURE, *gap(DISADVANTAGED_GAP_MEASURE, GAPS["disadvantaged"]),
            national_not_disadvantaged=ks2_rwm_national(ref.academic_year, NationalGroup.NOT_DISADVANTAGED),
        ),
        progress_over_time=series(window, {r: counters.get((r, GLD_RWM), ()) for r in window}, pupil_filter),
        progress_from_statutory=progress_from_statutory or [],
    )
