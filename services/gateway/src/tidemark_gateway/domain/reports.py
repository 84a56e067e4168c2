"""Report rows: one per group, labelled and ordered for people, with the pooled All Pupils row."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from tidemark_schemas.aggregates import GROUPINGS, BandCounts, PupilFilter, tally
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.rules import percentage
from tidemark_schemas.vocabulary import YearGroup

ALL_PUPILS_GROUP = "all"
ALL_PUPILS_LABEL = "All Pupils"

SchoolCounters = Iterable[tuple[str, Mapping[str, int]]]
"""(school_id, counter hash) pairs; one school may appear once per stored measure (mixed measures)."""


def _year_group_label(year_group: YearGroup) -> str:
    return "Reception" if year_group is YearGroup.R else f"Year {year_group.value.removeprefix('Y')}"


GROUP_LABELS: dict[str, dict[str, str]] = {
    "year_group": {y.value: _year_group_label(y) for y in YearGroup},
    "sex": {"F": "Female", "M": "Male"},
    "disadvantaged": {"disadvantaged": "Disadvantaged", "not_disadvantaged": "Not disadvantaged"},
    "sen": {"N": "No SEN", "K": "SEN support", "E": "EHC plan"},
    "eal": {"eal": "EAL", "not_eal": "Not EAL"},
    "ethnicity": {group.name: group.value for group in EthnicGroup},
    "lac": {"lac": "Looked after", "not_lac": "Not looked after"},
}
"""Group id (as `aggregates.GROUPINGS` produces it) -> label, in the natural order of each grouping.
By school is not here: its labels are the school names and its rows are sorted by name."""


def check_grouping(value: str) -> str:
    """Validator for the `by` parameter: one of `aggregates.GROUPINGS`."""
    if value not in GROUPINGS:
        raise ValueError(f"unknown grouping {value!r}; expected one of {', '.join(GROUPINGS)}")
    return value


@dataclass(frozen=True, slots=True)
class ReportRow:
    group: str
    label: str
    n: int
    """Pupils with a result in the measure (the denominator)."""
    at_or_above: int
    pct: float | None
    """Unrounded % at or above; None when n is 0 (no data is not 0%)."""

    @classmethod
    def of(cls, group: str, label: str, counts: BandCounts) -> ReportRow:
        return cls(group, label, counts.n, counts.at_or_above, counts.pct)


@dataclass(frozen=True, slots=True)
class AttainmentReport:
    academic_year: str
    period: str
    measure: str
    by: str
    last_updated: str | None
    rows: list[ReportRow]
    all_pupils: ReportRow


def ordered_groups(
    by: str, groups: Collection[str], school_names: Mapping[str, str], schools: Collection[str]
) -> list[tuple[str, str]]:
    """(group id, label) in display order. By school, every school in scope is listed, even without
    data, so a school that has not locked anything yet shows as "no data" rather than disappearing;
    other groupings list the groups present, in their natural order."""
    if by == "school":
        ids = set(schools) | set(groups)
        ordered = sorted(ids, key=lambda school: (school_names.get(school, school).casefold(), school))
        return [(school, school_names.get(school, school)) for school in ordered]
    labels = GROUP_LABELS.get(by, {})
    known = [group for group in labels if group in groups]
    others = sorted(group for group in groups if group not in labels)
    return [(group, labels.get(group, group)) for group in known + others]


def group_rows(
    by: str, groups: Mapping[str, BandCounts], school_names: Mapping[str, str], schools: Collection[str]
) -> list[ReportRow]:
    """Rows in display order (see `ordered_groups`)."""
    return [
        ReportRow.of(group, label, groups.get(group, BandCounts()))
        for group, label in ordered_groups(by, groups, school_names, schools)
    ]


def attainment_report(
    ref: PeriodRef,
    measure: str,
    by: str,
    counters: SchoolCounters,
    pupil_filter: PupilFilter,
    school_names: Mapping[str, str],
    last_updated: str | None,
) -> AttainmentReport:
    """Tally the counters of the schools in scope; All Pupils is pooled over pupils, never a mean of
    group percentages. `pupil_filter.schools` must be the schools in scope."""
    tallied = tally(counters, by, pupil_filter)
    schools = pupil_filter.schools if pupil_filter.schools is not None else frozenset()
    return AttainmentReport(
        academic_year=ref.academic_year,
        period=ref.period,
        measure=measure,
        by=by,
        last_updated=last_updated,
        rows=group_rows(by, tallied.groups, school_names, schools),
        all_pupils=ReportRow.of(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, tallied.all_pupils),
    )


@dataclass(frozen=True, slots=True)
class BandRow:
    """Pupils Below / At / Above ARE in one group, with each band's unrounded % of those assessed."""

    group: str
    label: str
    below: int
    at: int
    above: int
    n: int
    pct_below: float | None
    pct_at: float | None
    pct_above: float | None

    @classmethod
    def of(cls, group: str, label: str, counts: BandCounts) -> BandRow:
        n = counts.n
        return cls(
            group, label, counts.below, counts.at, counts.above, n,
            percentage(counts.below, n), percentage(counts.at, n), percentage(counts.above, n),
        )


@dataclass(frozen=True, slots=True)
class AttainmentOverview:
    academic_year: str
    period: str
    measure: str
    by: str
    view: str
    last_updated: str | None
    rows: list[BandRow]
    all_pupils: BandRow


def attainment_overview(
    ref: PeriodRef,
    measure: str,
    by: str,
    counters: SchoolCounters,
    pupil_filter: PupilFilter,
    school_names: Mapping[str, str],
    last_updated: str | None,
) -> AttainmentOverview:
    """The Simple view: counts and % of assessed pupils in each band, per group and pooled.
    Only pupils with a result count, so the three %s of a row sum to 100 (or are all None)."""
    tallied = tally(counters, by, pupil_filter)
    schools = pupil_filter.schools if pupil_filter.schools is not None else frozenset()
    rows = [
        BandRow.of(group, label, tallied.groups.get(group, BandCounts()))
        for group, label in ordered_groups(by, tallied.groups, school_names, schools)
    ]
    return AttainmentOverview(
        ref.academic_year, ref.period, measure, by, "simple", last_updated, rows,
        BandRow.of(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, tallied.all_pupils),
    )
