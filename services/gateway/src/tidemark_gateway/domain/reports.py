"""Report rows: one per group, labelled and ordered for people, with the pooled All Pupils row."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import Field

from tidemark_gateway.domain.counter_arrays import tally, tally_labels
from tidemark_gateway.domain.scope import class_labels
from tidemark_gateway.domain.small_groups import SmallGroupField
from tidemark_schemas.aggregates import GROUPINGS, BandCounts, PupilFilter
from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.rules import percentage
from tidemark_schemas.vocabulary import EYFS_GOALS, PRIMARY_SUBJECTS, YearGroup

ALL_PUPILS_GROUP = "all"
ALL_PUPILS_LABEL = "All Pupils"

LastUpdated = Annotated[str | None, Field(description="ISO timestamp of the last change to the Trust's figures")]
BY_SCHOOL_ROWS = "By school: every school in scope, sorted by name, even with no data"
ALL_PUPILS_ROW = 'group "all", label "All Pupils": pooled over every pupil in scope'

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
By school and by class are not here: their labels are the school and class names, their rows sorted
by name."""

NO_CLASS_LABEL = "No class"
"""The by=class row of pupils without a class in the view's academic year (group id "")."""


def check_grouping(value: str) -> str:
    """Validator for the `by` parameter: one of `aggregates.GROUPINGS`."""
    if value not in GROUPINGS:
        raise ValueError(f"unknown grouping {value!r}; expected one of {', '.join(GROUPINGS)}")
    return value


@dataclass(frozen=True, slots=True)
class ReportRow:
    """% of one group's pupils At or Above ARE."""

    group: Annotated[str, Field(description="Group id: the school id for by=school, else the grouping's value")]
    label: Annotated[str, Field(description="What people read: school name, 'Year 1', 'Female', ...")]
    n: Annotated[int, Field(description="Pupils with a result in the measure (the denominator)")]
    at_or_above: Annotated[int, Field(description="Pupils At or Above Age Related Expectations")]
    pct: Annotated[float | None, Field(description="Unrounded % at or above; null when n is 0 (no data is not 0%)")]
    small_group: SmallGroupField = False

    def group_size(self) -> int:
        return self.n

    @classmethod
    def of(cls, group: str, label: str, counts: BandCounts) -> ReportRow:
        return cls(group, label, counts.n, counts.at_or_above, counts.pct)


@dataclass(frozen=True, slots=True)
class AttainmentReport:
    academic_year: str
    period: str
    measure: str
    by: str
    last_updated: LastUpdated
    rows: Annotated[list[ReportRow], Field(description=BY_SCHOOL_ROWS)]
    all_pupils: Annotated[
        ReportRow,
        Field(description=f"{ALL_PUPILS_ROW} (sum of numerators / sum of denominators, never a mean of the rows)"),
    ]


def ordered_groups(
    by: str, groups: Collection[str], school_names: Mapping[str, str], schools: Collection[str]
) -> list[tuple[str, str]]:
    """(group id, label) in display order. By school, every school in scope is listed, even without
    data, so a school that has not locked anything yet shows as "no data" rather than disappearing;
    by class, the classes present by name (then pupils without a class); other groupings list the
    groups present, in their natural order."""
    if by == "school":
        ids = set(schools) | set(groups)
        ordered = sorted(ids, key=lambda school: (school_names.get(school, school).casefold(), school))
        return [(school, school_names.get(school, school)) for school in ordered]
    if by == "class":
        labels_of = class_labels(school_names, [g for g in groups if g])
        named = sorted(labels_of, key=lambda g: (labels_of[g].casefold(), g))
        return [(g, labels_of[g]) for g in named] + ([("", NO_CLASS_LABEL)] if "" in groups else [])
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


View = Literal["simple", "school"]
SIMPLE_VIEW: Final = "simple"
SCHOOL_VIEW: Final = "school"
VIEWS: tuple[View, ...] = (SIMPLE_VIEW, SCHOOL_VIEW)

SCHOOL_VIEW_MEASURES: frozenset[str] = frozenset(PRIMARY_SUBJECTS + EYFS_GOALS)
"""The School view shows the codes teachers chose, so single subjects and goals only: a combined
measure is derived from bands and has no code."""


class SchoolViewUnavailable(ValueError):
    """The School view was asked for where it is not offered (HTTP 422 on `view`)."""


def shared_model(models: Mapping[str, AssessmentModel | None], schools: Collection[str]) -> AssessmentModel | None:
    """The assessment model every school in scope uses, or None when they differ or have none."""
    found = {models.get(school) for school in schools}
    return found.pop() if len(found) == 1 else None


def school_view_refusal(measure: str, model: AssessmentModel | None) -> str | None:
    """Why the School view is not offered for this measure and scope (None: it is)."""
    if model is None:
        return "the School view needs every school in scope to use the same assessment model"
    if measure not in SCHOOL_VIEW_MEASURES:
        return "the School view shows single subjects and goals; combined measures have bands only"
    return None


@dataclass(frozen=True, slots=True)
class CodeCount:
    """Pupils at one code of the schools' model, with their unrounded % of the row's coded pupils."""

    code: str
    label: str
    band: Annotated[str, Field(description="The ARE band this code counts as")]
    pupils: int
    pct: Annotated[float | None, Field(description="Unrounded % of the row's pupils with a code; null when none")]


def code_counts(model: AssessmentModel, counts: Mapping[str, int]) -> list[CodeCount]:
    total = sum(counts.get(item.code, 0) for item in model.codes)
    return [
        CodeCount(item.code, item.label, item.band.value, counts.get(item.code, 0),
                  percentage(counts.get(item.code, 0), total))
        for item in model.codes
    ]


@dataclass(frozen=True, slots=True)
class BandRow:
    """Pupils Below / At / Above ARE in one group, with each band's unrounded % of those assessed;
    in the School view also the pupils at each code of the schools' model."""

    group: str
    label: str
    below: int
    at: int
    above: int
    n: Annotated[int, Field(description="Pupils with a result (below + at + above)")]
    pct_below: Annotated[float | None, Field(description="Unrounded; the three %s sum to 100; null when n is 0")]
    pct_at: float | None
    pct_above: float | None
    codes: Annotated[
        list[CodeCount] | None,
        Field(description="School view only: pupils per code of the schools' model, lowest first"),
    ] = None
    small_group: SmallGroupField = False

    def group_size(self) -> int:
        return self.n

    @classmethod
    def of(cls, group: str, label: str, counts: BandCounts, codes: list[CodeCount] | None = None) -> BandRow:
        n = counts.n
        return cls(
            group, label, counts.below, counts.at, counts.above, n,
            percentage(counts.below, n), percentage(counts.at, n), percentage(counts.above, n), codes,
        )


@dataclass(frozen=True, slots=True)
class AttainmentOverview:
    academic_year: str
    period: str
    measure: str
    by: str
    view: Annotated[
        View, Field(description="simple: Below / At / Above; school: also the codes of the schools' own model")
    ]
    school_view_available: Annotated[
        bool,
        Field(description="Whether view=school is offered: every school in scope uses the same model, and the "
              "measure is a single subject or goal"),
    ]
    model: Annotated[AssessmentModel | None, Field(description="The schools' shared model, in the School view")]
    last_updated: LastUpdated
    rows: Annotated[list[BandRow], Field(description=BY_SCHOOL_ROWS)]
    all_pupils: Annotated[BandRow, Field(description=ALL_PUPILS_ROW)]


def attainment_overview(
    ref: PeriodRef,
    measure: str,
    by: str,
    counters: SchoolCounters,
    pupil_filter: PupilFilter,
    school_names: Mapping[str, str],
    last_updated: str | None,
    school_model: AssessmentModel | None = None,
    code_counters: SchoolCounters | None = None,
) -> AttainmentOverview:
    """The Simple view: counts and % of assessed pupils in each band, per group and pooled. Only
    pupils with a result count, so the three %s of a row sum to 100 (or are all None).

    With `code_counters` (the `model.<measure>` counters) it is the School view: each row also
    counts pupils per code of `school_model`, the model every school in scope shares.
    """
    tallied = tally(counters, by, pupil_filter)
    schools = pupil_filter.schools if pupil_filter.schools is not None else frozenset()
    available = school_view_refusal(measure, school_model) is None
    model = school_model if available and code_counters is not None else None
    coded = tally_labels(code_counters, by, pupil_filter) if model is not None and code_counters is not None else None

    def row(group: str, label: str, counts: BandCounts, codes: Mapping[str, int]) -> BandRow:
        return BandRow.of(group, label, counts, code_counts(model, codes) if model is not None else None)

    rows = [
        row(group, label, tallied.groups.get(group, BandCounts()), coded.groups.get(group, {}) if coded else {})
        for group, label in ordered_groups(by, tallied.groups, school_names, schools)
    ]
    return AttainmentOverview(
        ref.academic_year, ref.period, measure, by, SIMPLE_VIEW if model is None else SCHOOL_VIEW, available, model,
        last_updated, rows,
        row(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, tallied.all_pupils, coded.all_pupils if coded else {}),
    )
