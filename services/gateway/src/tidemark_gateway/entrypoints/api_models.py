"""Response models of the gateway API (the OpenAPI contract). Built from the domain dataclasses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _FromDomain(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PeriodOut(_FromDomain):
    academic_year: str = Field(examples=["2025/26"])
    period: str = Field(examples=["AUT1"])


class ReportRow(_FromDomain):
    group: str = Field(description="Group id: the school id for by=school, else the grouping's value")
    label: str = Field(description="What people read: school name, 'Year 1', 'Female', ...")
    n: int = Field(description="Pupils with a result in the measure (the denominator)")
    at_or_above: int = Field(description="Pupils At or Above Age Related Expectations")
    pct: float | None = Field(description="Unrounded % at or above; null when n is 0 (no data is not 0%)")


class AllPupilsRow(ReportRow):
    group: Literal["all"] = "all"
    label: Literal["All Pupils"] = "All Pupils"


class AttainmentReport(_FromDomain):
    academic_year: str
    period: str
    measure: str
    by: str
    last_updated: str | None = Field(description="ISO timestamp of the last change to the Trust's figures")
    rows: list[ReportRow] = Field(description="By school: every school in scope, sorted by name, even with no data")
    all_pupils: AllPupilsRow = Field(
        description="Pooled over every pupil in scope (sum of numerators / sum of denominators)"
    )


class SubjectTile(_FromDomain):
    measure: str
    label: str
    n: int
    at_or_above: int
    pct: float | None = Field(description="Unrounded % at or above this period; null without data")
    previous_pct: float | None = Field(description="Unrounded % in the previous period; null without data")
    change: float | None = Field(description="pct - previous_pct to 1 dp; null when either is null")
    display: str = Field(description="'+2.3', '-1.0', '~ 0' (rounds to 0.0), 'no data' (none this period), '–' (none before)")
    direction: Literal["up", "down", "none"] = Field(description="up: green up arrow; down: red down arrow")


class GapTile(_FromDomain):
    gap: float | None = Field(description="Unrounded first % - second %; null when either group has no data")
    previous_gap: float | None = Field(description="The gap in the previous period; null without data")
    change: float | None = Field(description="gap - previous_gap to 1 dp; null when either is null")
    display: str = Field(description="'+2.3', '-1.0', '~ 0' (rounds to 0.0), 'no data' (no gap now), '–' (no gap before)")
    direction: Literal["up", "down", "none"] = Field(description="Direction of the signed gap's change")
    widening: bool | None = Field(
        description="|gap| > |previous gap| (red when true, green when false); null when either gap is null"
    )


class GenderGap(_FromDomain):
    measure: str = Field(description="gld_rwm: GLD for Reception, RWM for Years 1-6, pooled")
    female: SubjectTile
    male: SubjectTile
    gap: GapTile = Field(description="% female - % male")


class DisadvantagedGap(_FromDomain):
    measure: str = Field(description="rwm")
    not_disadvantaged: SubjectTile
    disadvantaged: SubjectTile
    gap: GapTile = Field(description="% not disadvantaged - % disadvantaged")


class PeriodPoint(_FromDomain):
    academic_year: str
    period: str
    n: int = Field(description="Pupils with a result in that period (0 when it has no data)")
    at_or_above: int
    pct: float | None = Field(description="Unrounded % at or above; null when n is 0")


class SummativeDashboard(_FromDomain):
    academic_year: str
    period: str
    previous_period: PeriodOut
    last_updated: str | None
    primary_subjects: list[SubjectTile] = Field(description="Reading, writing, maths and combined RWM, in that order")
    eyfs_subjects: list[SubjectTile] = Field(description="Combined GLD and Combined (All Goals), in that order")
    gender_gap: GenderGap = Field(description="Diminishing the Difference (Gender), on gld_rwm")
    disadvantaged_gap: DisadvantagedGap = Field(description="Diminishing the Difference (Disadvantaged), on rwm")
    progress_over_time: list[PeriodPoint] = Field(
        description="All Pupils gld_rwm for every period of the selected year and the two before, oldest first"
    )
    progress_from_statutory: list[CategoryCount] = Field(
        description="Progress From Statutory Assessment: pupils per category in this period (the seven, then "
        "not_categorised), pooled; open /v1/reports/progress-from-statutory?category= to drill down"
    )


class ProgressCategoryOut(_FromDomain):
    category: str = Field(description="A tidemark_schemas.progress.ProgressCategory value (a stable id)")
    label: str = Field(description="What people read, e.g. 'On track and ABOVE standard'")


class CategoryCount(_FromDomain):
    category: str = Field(description="A tidemark_schemas.progress.ProgressCategory value")
    label: str
    pupils: int
    pct: float | None = Field(description="Unrounded % of the categorised pupils; null for not_categorised or none")


class ChangeOut(_FromDomain):
    difference: float | None = Field(description="Unrounded, on the previous academic year")
    change: float | None = Field(description="One decimal place")
    direction: Literal["up", "down", "none"]
    display: str = Field(description="+2.3, -1.0, ~ 0 (rounds to 0.0), 'no data' (none this year), or – when last year has none")


class StatutoryFigures(_FromDomain):
    group: str
    label: str
    figures: dict[str, float | int | None] = Field(
        description="By measure kind: eligible, exs_plus_pct, gds_pct; eligible, pct; pupils, average; eligible, "
        "took, average, full_marks_pct (tidemark_schemas.statutory_measures). Unrounded; null when no pupils"
    )
    previous: dict[str, float | int | None] = Field(description="The same figures for the previous academic year")
    changes: dict[str, ChangeOut] = Field(description="Change of each % and average on the previous year")


class AllPupilsStatutoryFigures(StatutoryFigures):
    group: Literal["all"] = "all"
    label: Literal["All Pupils"] = "All Pupils"


class StatutoryTile(_FromDomain):
    measure: str
    label: str
    all_pupils: AllPupilsStatutoryFigures


class StatutoryDashboard(_FromDomain):
    academic_year: str
    previous_year: str
    last_updated: str | None
    widgets: dict[str, list[StatutoryTile]] = Field(
        description="ks2 (reading, writing, maths, rwm, gps, science, average scaled scores), ks1, eyfs, phonics, mtc"
    )


class StatutoryReport(_FromDomain):
    academic_year: str
    previous_year: str
    measure: str
    label: str
    by: str
    last_updated: str | None
    rows: list[StatutoryFigures] = Field(description="By school: every school in scope, sorted by name")
    all_pupils: AllPupilsStatutoryFigures


class ProgressRow(_FromDomain):
    group: str
    label: str
    categorised: int = Field(description="Pupils with a category (the % denominator)")
    categories: list[CategoryCount]


class AllPupilsProgressRow(ProgressRow):
    group: Literal["all"] = "all"
    label: Literal["All Pupils"] = "All Pupils"


class ProgressPupil(_FromDomain):
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


class ProgressReport(_FromDomain):
    academic_year: str
    period: str
    by: str
    category: str | None = Field(description="The drill-down's category, or null for every category")
    last_updated: str | None
    all_pupils: AllPupilsProgressRow
    rows: list[ProgressRow]
    pupils: list[ProgressPupil] | None = Field(description="With pupils=true: the pupils (current characteristics)")


class CodeCount(_FromDomain):
    code: str
    label: str
    band: str = Field(description="The ARE band this code counts as")
    pupils: int
    pct: float | None = Field(description="Unrounded % of the row's pupils with a code; null when none")


class BandRow(_FromDomain):
    group: str
    label: str
    below: int
    at: int
    above: int
    n: int = Field(description="Pupils with a result (below + at + above)")
    pct_below: float | None = Field(description="Unrounded; the three %s sum to 100; null when n is 0")
    pct_at: float | None
    pct_above: float | None
    codes: list[CodeCount] | None = Field(
        default=None, description="School view only: pupils per code of the schools' model, lowest first"
    )


class AllPupilsBandRow(BandRow):
    group: Literal["all"] = "all"
    label: Literal["All Pupils"] = "All Pupils"


class ModelCodeOut(_FromDomain):
    code: str
    label: str
    band: str


class AssessmentModelOut(_FromDomain):
    name: str
    codes: list[ModelCodeOut] = Field(description="Lowest first")


class AttainmentOverview(_FromDomain):
    academic_year: str
    period: str
    measure: str
    by: str
    view: Literal["simple", "school"] = Field(
        description="simple: Below / At / Above; school: also the codes of the schools' own model"
    )
    school_view_available: bool = Field(
        description="Whether view=school is offered: every school in scope uses the same model, and the measure "
        "is a single subject or goal"
    )
    model: AssessmentModelOut | None = Field(description="The schools' shared model, in the School view")
    last_updated: str | None
    rows: list[BandRow] = Field(description="By school: every school in scope, sorted by name, even with no data")
    all_pupils: AllPupilsBandRow


class SeriesRow(_FromDomain):
    group: str = Field(description="Group id, or the subject for by=subject")
    label: str
    series: list[PeriodPoint] = Field(description="One point per period of `periods`, oldest first")


class AllPupilsSeriesRow(SeriesRow):
    group: Literal["all"] = "all"
    label: Literal["All Pupils"] = "All Pupils"


class ProgressOverTime(_FromDomain):
    academic_year: str = Field(description="The selected (latest) academic year of the window")
    measure: str
    by: str
    last_updated: str | None
    periods: list[PeriodOut] = Field(description="Every period of the selected year and the two before, oldest first")
    rows: list[SeriesRow]
    all_pupils: AllPupilsSeriesRow = Field(description="`measure` pooled over every pupil in scope")


class GroupRef(_FromDomain):
    group: str
    label: str


class Figure(_FromDomain):
    n: int
    at_or_above: int
    pct: float | None = Field(description="Unrounded % at or above; null when n is 0")


class GapPoint(_FromDomain):
    academic_year: str
    period: str
    first: Figure
    second: Figure
    gap: float | None = Field(description="Unrounded first.pct - second.pct; null when either is null")
    previous_gap: float | None = Field(description="The gap of the period before (the first point: the period "
                                       "just before the window)")
    change: float | None
    display: str
    direction: Literal["up", "down", "none"]
    widening: bool | None = Field(description="|gap| > |previous gap|; null when either is null")


class GapReport(_FromDomain):
    academic_year: str
    gap: Literal["sex", "disadvantaged"]
    subject: str
    last_updated: str | None
    first: GroupRef = Field(description="Female, or Not disadvantaged")
    second: GroupRef = Field(description="Male, or Disadvantaged")
    series: list[GapPoint] = Field(description="Every period of the selected year and the two before, oldest first")


class GroupCount(_FromDomain):
    group: str
    label: str
    pupils: int


class OverviewRow(_FromDomain):
    group: str
    label: str
    pupils: int = Field(description="Pupils with at least one locked result in the period (not the roll)")
    breakdown: dict[str, list[GroupCount]] = Field(
        description="sex, disadvantaged, sen, eal, ethnicity, lac -> a count for every group, 0 included"
    )


class AllPupilsOverviewRow(OverviewRow):
    group: Literal["all"] = "all"
    label: Literal["All Pupils"] = "All Pupils"


class PupilOverview(_FromDomain):
    academic_year: str
    period: str
    by: str
    last_updated: str | None
    rows: list[OverviewRow]
    all_pupils: AllPupilsOverviewRow


class CompletionRow(_FromDomain):
    school_id: str
    school: str = Field(description="The school's name")
    year_group: str
    subject: str
    label: str
    on_roll: int = Field(description="Pupils on roll TODAY in this year group (the current roll, whatever the period)")
    entered: int = Field(description="Pupils with an entered value, draft or locked")
    locked: int = Field(description="Pupils with a locked result")
    missing: int = Field(description="max(0, on_roll - entered)")
    complete: bool = Field(description="entered == on_roll > 0 (green)")


class DataCompletion(_FromDomain):
    academic_year: str
    period: str
    last_updated: str | None
    rows: list[CompletionRow] = Field(
        description="Per school (by name), year group (R first) and subject; year groups with nobody on roll and "
        "nothing entered are left out"
    )


class School(_FromDomain):
    school_id: str
    name: str


class CalendarOut(_FromDomain):
    academic_years: list[str] = Field(description="The current academic year and the two before it, oldest first")
    periods: list[str] = Field(description="The Trust's assessment periods, in order")
    current: PeriodOut = Field(description="The period today falls in")
    latest_with_data: PeriodOut | None = Field(description="The latest shown period with any figures")
    latest_statutory_year: str | None = Field(
        description="The latest shown academic year with statutory results (where the statutory pages open); "
        "null when none has any"
    )


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class LiveNotice(BaseModel):
    """`data` of a `change` event on /v1/live; the event id is the stream id (send it back as Last-Event-ID)."""

    academic_year: str
    period: str
    measures: list[str]
    schools: list[str] = Field(description="Only the schools the caller may see")
