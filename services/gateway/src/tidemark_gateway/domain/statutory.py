"""The Statutory Dashboard, the statutory report, and Progress From Statutory Assessment, from the
statutory projection's label counts (pure).

Every figure comes from `tidemark_schemas.statutory_measures.figures` over pupils per outcome
label; the change compares with the previous academic year as the summative tiles compare with
the previous period (`domain.change`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from tidemark_gateway.domain.change import Change, change_since
from tidemark_gateway.domain.counter_arrays import tally_labels
from tidemark_gateway.domain.national import NationalComparator
from tidemark_gateway.domain.reports import (
    ALL_PUPILS_GROUP,
    ALL_PUPILS_LABEL,
    LastUpdated,
    SchoolCounters,
    ordered_groups,
)
from tidemark_gateway.domain.small_groups import SmallGroupField
from tidemark_schemas.aggregates import PupilFilter, decode_cell_field
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.progress import CATEGORY_LABELS, ProgressCategory
from tidemark_schemas.statutory_measures import MEASURES, figures
from tidemark_schemas.statutory_national import NationalAttainment, NationalGroup, national_attainment

WIDGETS: dict[str, tuple[str, ...]] = {
    "ks2": ("ks2.reading", "ks2.writing", "ks2.maths", "ks2.rwm", "ks2.gps", "ks2.science",
            "ks2.reading_ss", "ks2.maths_ss", "ks2.gps_ss"),
    "ks1": ("ks1.reading", "ks1.writing", "ks1.maths", "ks1.rwm", "ks1.science"),
    "eyfs": ("eyfs.gld", "eyfs.all_goals", "eyfs.goals"),
    "phonics": ("phonics.y1", "phonics.y2", "phonics.ks1"),
    "mtc": ("mtc.score",),
}
"""The Statutory Dashboard's widgets and their measures, in display order."""

RESULT_MARKERS: tuple[str, ...] = tuple(measure for measure in MEASURES if measure != "phonics.ks1")
"""Measures whose counters show that a year has statutory results of its own. Not the end-of-KS1
phonics measure: it is filed in the Year 2 year, so a Year 1 check gives the next year one before
that year has any result (`docs/domain-decisions.md`)."""

COUNTS: frozenset[str] = frozenset({"eligible", "pupils", "took"})
"""Figures that are pupil counts: they are shown, not compared (a change in cohort size is not news)."""

Figures = dict[str, float | int | None]


def check_statutory_measure(value: str) -> str:
    if value not in MEASURES:
        raise ValueError(f"unknown statutory measure {value!r}; expected one of {', '.join(MEASURES)}")
    return value


def check_category(value: str) -> str:
    if value not in {category.value for category in ProgressCategory}:
        raise ValueError(f"unknown category {value!r}; expected one of {', '.join(c.value for c in ProgressCategory)}")
    return value


NationalFigures = dict[str, NationalComparator]
"""Figure name (exs_plus_pct, gds_pct, pct, average, full_marks_pct) -> the national figure."""

NATIONAL_DESCRIPTION = (
    "The DfE's national figure (England) of each % and average, for this row's group where the DfE publishes one "
    "(All Pupils: all pupils; by sex or disadvantaged: that group; other groupings: null), this year's or else the "
    "latest published before, with its year and source; null when none is published"
)

_NATIONAL_GROUPINGS = frozenset({"sex", "disadvantaged"})
"""The groupings whose rows the DfE publishes figures for (as tidemark_schemas.statutory_national.NationalGroup)."""


def national_figures(measure: str, academic_year: str, group: NationalGroup | None = None) -> NationalFigures | None:
    found = {name: _comparator(row) for name, row in national_attainment(measure, academic_year, group).items()}
    return found or None


def _comparator(row: NationalAttainment) -> NationalComparator:
    return NationalComparator(float(row.value), row.academic_year, row.source, row.note)


def _row_national(measure: str, academic_year: str, by: str, group: str) -> NationalFigures | None:
    if by not in _NATIONAL_GROUPINGS or group not in {g.value for g in NationalGroup}:
        return None
    return national_figures(measure, academic_year, NationalGroup(group))


@dataclass(frozen=True, slots=True)
class StatutoryFigures:
    """One group's figures of one measure this year, last year's, and the change of each %/average."""

    group: str
    label: str
    figures: Annotated[
        Figures,
        Field(description="By measure kind: eligible, exs_plus_pct, gds_pct; eligible, pct; pupils, average; "
              "eligible, took, average, full_marks_pct (tidemark_schemas.statutory_measures). Unrounded; null when "
              "no pupils"),
    ]
    previous: Annotated[Figures, Field(description="The same figures for the previous academic year")]
    changes: Annotated[dict[str, Change], Field(description="Change of each % and average on the previous year")]
    national: Annotated[NationalFigures | None, Field(description=NATIONAL_DESCRIPTION)] = None
    small_group: SmallGroupField = False

    def group_size(self) -> int:
        """This year's pupils: eligible, or for a scaled score the pupils with one."""
        return int(self.figures.get("eligible") or self.figures.get("pupils") or 0)

    @classmethod
    def of(
        cls, group: str, label: str, measure: str, now: Mapping[str, int], before: Mapping[str, int],
        national: NationalFigures | None = None,
    ) -> StatutoryFigures:
        current, previous = figures(measure, now), figures(measure, before)
        changes = {
            name: change_since(_as_float(value), _as_float(previous[name]))
            for name, value in current.items()
            if name not in COUNTS
        }
        return cls(group, label, current, previous, changes, national)


ALL_PUPILS_FIGURES = 'group "all", label "All Pupils": pooled over every pupil in scope'


@dataclass(frozen=True, slots=True)
class StatutoryTile:
    measure: str
    label: str
    all_pupils: Annotated[StatutoryFigures, Field(description=ALL_PUPILS_FIGURES)]


DISADVANTAGED_GAP_MEASURE = "ks2.rwm"
"""The statutory disadvantaged gap is on KS2 combined RWM, the measure the DfE publishes it for."""


@dataclass(frozen=True, slots=True)
class StatutoryGap:
    """The Trust's disadvantaged pupils beside its other pupils and beside other pupils nationally:
    the DfE compares disadvantaged pupils with non-disadvantaged pupils nationally."""

    measure: str
    disadvantaged: StatutoryFigures
    not_disadvantaged: StatutoryFigures
    national_not_disadvantaged: Annotated[NationalComparator | None, Field(
        description="The DfE's % of non-disadvantaged pupils nationally at the expected standard, this year's or "
        "the latest published before; null when none")]
    gap: Annotated[float | None, Field(
        description="Trust not disadvantaged % - Trust disadvantaged % (expected standard), unrounded; null "
        "without both")]
    gap_to_national: Annotated[float | None, Field(
        description="National not disadvantaged % - Trust disadvantaged %, the DfE's comparison; null without both")]
    small_group: SmallGroupField = False

    def group_size(self) -> int:
        """The smaller group with pupils: either %, read against the other, is that group's."""
        return min((n for n in (self.disadvantaged.group_size(), self.not_disadvantaged.group_size()) if n), default=0)


def statutory_gap(year: str, previous_year: str, counters: StatutoryCounters, pupil_filter: PupilFilter) -> StatutoryGap:
    measure = DISADVANTAGED_GAP_MEASURE
    now = tally_labels(counters.get((year, measure), ()), "disadvantaged", pupil_filter).groups
    before = tally_labels(counters.get((previous_year, measure), ()), "disadvantaged", pupil_filter).groups

    def side(group: NationalGroup, label: str) -> StatutoryFigures:
        return StatutoryFigures.of(group.value, label, measure, now.get(group.value, {}), before.get(group.value, {}),
                                   national_figures(measure, year, group))

    disadvantaged = side(NationalGroup.DISADVANTAGED, "Disadvantaged")
    others = side(NationalGroup.NOT_DISADVANTAGED, "Not disadvantaged")
    national = (others.national or {}).get("exs_plus_pct")
    mine, theirs = _as_float(disadvantaged.figures["exs_plus_pct"]), _as_float(others.figures["exs_plus_pct"])
    return StatutoryGap(
        measure, disadvantaged, others, national,
        None if mine is None or theirs is None else theirs - mine,
        None if mine is None or national is None else national.value - mine,
    )


@dataclass(frozen=True, slots=True)
class StatutoryDashboard:
    academic_year: str
    previous_year: str
    last_updated: LastUpdated
    widgets: Annotated[
        dict[str, list[StatutoryTile]],
        Field(description="ks2 (reading, writing, maths, rwm, gps, science, average scaled scores), ks1, eyfs, "
              "phonics, mtc"),
    ]
    disadvantaged_gap: Annotated[StatutoryGap, Field(description="KS2 combined RWM, disadvantaged against others")]


@dataclass(frozen=True, slots=True)
class StatutoryReport:
    academic_year: str
    previous_year: str
    measure: str
    label: str
    by: str
    last_updated: LastUpdated
    rows: Annotated[list[StatutoryFigures], Field(description="By school: every school in scope, sorted by name")]
    all_pupils: Annotated[StatutoryFigures, Field(description=ALL_PUPILS_FIGURES)]


StatutoryCounters = Mapping[tuple[str, str], SchoolCounters]
"""(academic year, measure) -> [(school, counter hash)]."""


def statutory_dashboard(
    year: str, previous_year: str, counters: StatutoryCounters, pupil_filter: PupilFilter, last_updated: str | None
) -> StatutoryDashboard:
    """Every headline measure, Trust-wide (pooled over the schools in scope), with last year's."""
    widgets = {
        widget: [
            StatutoryTile(measure, MEASURES[measure].label, _pooled(measure, year, previous_year, counters, pupil_filter))
            for measure in measures
        ]
        for widget, measures in WIDGETS.items()
    }
    return StatutoryDashboard(year, previous_year, last_updated, widgets,
                              statutory_gap(year, previous_year, counters, pupil_filter))


def statutory_report(
    measure: str, by: str, year: str, previous_year: str, counters: StatutoryCounters, pupil_filter: PupilFilter,
    school_names: Mapping[str, str], last_updated: str | None,
) -> StatutoryReport:
    """One measure per group, with the pooled All Pupils row, this year and last."""
    now = tally_labels(counters.get((year, measure), ()), by, pupil_filter)
    before = tally_labels(counters.get((previous_year, measure), ()), by, pupil_filter)
    schools = pupil_filter.schools if pupil_filter.schools is not None else frozenset()
    rows = [
        StatutoryFigures.of(group, label, measure, now.groups.get(group, {}), before.groups.get(group, {}),
                            _row_national(measure, year, by, group))
        for group, label in ordered_groups(by, now.groups, school_names, schools)
    ]
    return StatutoryReport(
        year, previous_year, measure, MEASURES[measure].label, by, last_updated, rows,
        StatutoryFigures.of(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, measure, now.all_pupils, before.all_pupils,
                            national_figures(measure, year)),
    )


def _pooled(
    measure: str, year: str, previous_year: str, counters: StatutoryCounters, pupil_filter: PupilFilter
) -> StatutoryFigures:
    now = tally_labels(counters.get((year, measure), ()), None, pupil_filter).all_pupils
    before = tally_labels(counters.get((previous_year, measure), ()), None, pupil_filter).all_pupils
    return StatutoryFigures.of(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, measure, now, before, national_figures(measure, year))


def _as_float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


# -- progress from statutory assessment --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Category:
    """A Level of Progress Made."""

    category: Annotated[
        str, Field(description="A tidemark_schemas.progress.ProgressCategory value (a stable id)")
    ]
    label: Annotated[str, Field(description="What people read, e.g. 'On track and ABOVE standard'")]


CATEGORIES: tuple[Category, ...] = tuple(Category(c.value, CATEGORY_LABELS[c]) for c in ProgressCategory)
"""Every category with its label, in display order (for the web UI's selector, columns and legend)."""


@dataclass(frozen=True, slots=True)
class CategoryCount:
    category: Annotated[str, Field(description="A tidemark_schemas.progress.ProgressCategory value")]
    label: str
    pupils: int
    pct: Annotated[
        float | None, Field(description="Unrounded % of the categorised pupils; null for not_categorised or none")
    ]


@dataclass(frozen=True, slots=True)
class ProgressRow:
    group: str
    label: str
    categorised: Annotated[int, Field(description="Pupils with a category (the % denominator)")]
    categories: list[CategoryCount]
    small_group: SmallGroupField = False

    def group_size(self) -> int:
        return self.categorised


@dataclass(frozen=True, slots=True)
class ProgressPupil:
    pupil_id: str
    school_id: str
    school: str
    year_group: str
    sex: str
    disadvantaged: bool
    sen: str
    eal: bool
    ethnicity: str
    lac: bool
    category: str


@dataclass(frozen=True, slots=True)
class ProgressReport:
    academic_year: str
    period: str
    by: str
    category: Annotated[str | None, Field(description="The drill-down's category, or null for every category")]
    last_updated: LastUpdated
    all_pupils: Annotated[ProgressRow, Field(description='group "all", label "All Pupils"')]
    rows: list[ProgressRow]
    pupils: Annotated[
        list[ProgressPupil] | None, Field(description="With pupils=true: the pupils (current characteristics)")
    ]


def category_counts(counts: Mapping[str, int], only: str | None = None) -> tuple[int, list[CategoryCount]]:
    """(categorised pupils, one count per category in display order, or just `only`)."""
    categorised = sum(n for category, n in counts.items() if category != ProgressCategory.NOT_CATEGORISED)
    listed = [
        CategoryCount(
            category.value, CATEGORY_LABELS[category], counts.get(category.value, 0),
            None if category is ProgressCategory.NOT_CATEGORISED or not categorised
            else 100.0 * counts.get(category.value, 0) / categorised,
        )
        for category in ProgressCategory
        if only is None or category.value == only
    ]
    return categorised, listed


def progress_widget(counters: SchoolCounters, pupil_filter: PupilFilter) -> list[CategoryCount]:
    """The Summative Dashboard's Progress From Statutory Assessment tiles (pooled)."""
    return category_counts(tally_labels(counters, None, pupil_filter).all_pupils)[1]


def progress_report(
    ref: PeriodRef, by: str, category: str | None, counters: SchoolCounters, pupil_filter: PupilFilter,
    school_names: Mapping[str, str], last_updated: str | None, pupil_entries: Sequence[tuple[str, str]] | None,
) -> ProgressReport:
    """Pupils per category by group (only `category`'s when given: the drill-down), and, when asked
    for, the pupils in that category."""
    tallied = tally_labels(counters, by, pupil_filter)
    schools = pupil_filter.schools if pupil_filter.schools is not None else frozenset()

    def row(group: str, label: str, counts: Mapping[str, int]) -> ProgressRow:
        categorised, listed = category_counts(counts, category)
        return ProgressRow(group, label, categorised, listed)

    rows = [
        row(group, label, tallied.groups.get(group, {}))
        for group, label in ordered_groups(by, tallied.groups, school_names, schools)
    ]
    pupils = None if pupil_entries is None else pupils_in(pupil_entries, category, pupil_filter, school_names)
    return ProgressReport(
        ref.academic_year, ref.period, by, category, last_updated,
        row(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, tallied.all_pupils), rows, pupils,
    )


def pupils_in(
    entries: Sequence[tuple[str, str]], category: str | None, pupil_filter: PupilFilter,
    school_names: Mapping[str, str],
) -> list[ProgressPupil]:
    """The pupils of the drill-down's list ("pupil_id|cell|category" entries), filtered like the counts."""
    found = []
    for school, entry in entries:
        pupil_id, rest = entry.split("|", 1)
        cell, label = decode_cell_field(rest)
        if (category is not None and label != category) or not pupil_filter.admits(school, cell):
            continue
        found.append(ProgressPupil(
            pupil_id, school, school_names.get(school, school), cell.year_group.value, cell.sex.value,
            cell.disadvantaged, cell.sen.value, cell.eal, cell.ethnic_group.name, cell.lac, label,
        ))
    return sorted(found, key=lambda p: (p.school.casefold(), p.year_group, p.pupil_id))
