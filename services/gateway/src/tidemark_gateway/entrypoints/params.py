"""Query parameters shared by the report and dashboard routes, as `Annotated` aliases.

Unknown values are rejected by FastAPI with a 422 whose `loc` names the parameter. (The period,
which depends on the configuration, is in `deps`.)
"""

from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import AfterValidator

from tidemark_gateway.domain.gaps import GAPS, check_gap
from tidemark_gateway.domain.measures import GAP_SUBJECTS, GLD_RWM, MEASURES, check_measure
from tidemark_gateway.domain.reports import check_grouping
from tidemark_gateway.domain.statutory import check_category, check_statutory_measure
from tidemark_gateway.domain.trends import BY_SUBJECT, check_series_grouping
from tidemark_schemas.aggregates import GROUPINGS, PupilFilter
from tidemark_schemas.calendar import ACADEMIC_YEAR_PATTERN
from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.progress import ProgressCategory
from tidemark_schemas.records import check_academic_year
from tidemark_schemas.statutory_measures import MEASURES as STATUTORY_MEASURES
from tidemark_schemas.vocabulary import SenProvision, Sex, YearGroup

# An Enum built from a list of members: mypy cannot check its members (the ethnic group names).
EthnicGroupName = StrEnum("EthnicGroupName", [(group.name, group.name) for group in EthnicGroup])  # type: ignore[misc]
"""Ethnic groups by name (WHITE, ASIAN, ...): the same ids as the groups of by=ethnicity."""

Measure = Annotated[
    str,
    Query(description="A subject, an Early Learning Goal or a combined measure; gld_rwm pools GLD (Reception) "
          "and RWM (Years 1-6)", examples=["reading"], json_schema_extra={"enum": list(MEASURES)}),
    AfterValidator(check_measure),
]
AcademicYear = Annotated[
    str,
    Query(description="Academic year, e.g. 2025/26; from 2000/01 to the year after the current one "
          "(`tidemark_schemas.records.academic_year_window`)", examples=["2025/26"],
          json_schema_extra={"pattern": ACADEMIC_YEAR_PATTERN.pattern}),
    AfterValidator(check_academic_year),
]
By = Annotated[str, Query(description="Grouping of the rows", examples=["school"],
                          json_schema_extra={"enum": list(GROUPINGS)}), AfterValidator(check_grouping)]

SeriesMeasure = Annotated[
    str,
    Query(description="The measure of the series (and of All Pupils); default gld_rwm (GLD for Reception, RWM "
          "for Years 1-6, pooled)", json_schema_extra={"enum": list(MEASURES)}),
    AfterValidator(check_measure),
]
SeriesBy = Annotated[
    str,
    Query(description="Grouping of the rows, or `subject`: one row each for reading, writing, maths and rwm",
          json_schema_extra={"enum": [*GROUPINGS, BY_SUBJECT]}),
    AfterValidator(check_series_grouping),
]
Gap = Annotated[
    str,
    Query(description="sex: % female - % male; disadvantaged: % not disadvantaged - % disadvantaged",
          json_schema_extra={"enum": list(GAPS)}),
    AfterValidator(check_gap),
]


def check_gap_subject(value: str) -> str:
    if value not in GAP_SUBJECTS:
        raise ValueError(f"unknown subject {value!r}; expected one of {', '.join(GAP_SUBJECTS)}")
    return value


GapSubject = Annotated[
    str,
    Query(description="What the two groups are compared on", json_schema_extra={"enum": list(GAP_SUBJECTS)}),
    AfterValidator(check_gap_subject),
]
DEFAULT_SERIES_MEASURE = GLD_RWM

StatutoryMeasure = Annotated[
    str,
    Query(description="A statutory headline measure, e.g. ks2.rwm", json_schema_extra={"enum": list(STATUTORY_MEASURES)}),
    AfterValidator(check_statutory_measure),
]
Category = Annotated[
    str | None,
    Query(description="Drill down to one Level of Progress Made (a progress category)",
          json_schema_extra={"enum": [category.value for category in ProgressCategory]}),
    AfterValidator(lambda value: value if value is None else check_category(value)),
]

View = Annotated[
    Literal["simple", "school"],
    Query(description="simple: Below / At / Above. school: also the codes of the schools' own assessment model, "
          "offered when every school in scope uses the same model and the measure is a single subject or goal "
          "(else 422)"),
]


SCHOOL = (
    "Only these schools (repeatable); without it, every school the caller may see. Naming a school the caller may "
    "not see (a school-scoped token naming any other school, whether or not it exists) is a 403, checked first so "
    "that nothing is learnt about other schools; otherwise naming a school the caller's Trust does not have (a "
    "school of another Trust included) is a 422 on `school`."
)
NOT_VISIBLE = "A `school` (or `class`) the caller may not see"
CLASS = (
    "Only pupils in these classes (repeatable; `GET /v1/classes`): each pupil's class in the view's academic year. "
    "A class of a school the caller may not see is a 403 (as is any unknown class for a school-scoped caller); "
    "one the Trust does not have a 422 on `class`."
)


async def pupil_filter(
    school: Annotated[list[str] | None, Query(description=SCHOOL)] = None,
    year_group: Annotated[list[YearGroup] | None, Query(description="Only these year groups (repeatable)")] = None,
    sex: Annotated[Sex | None, Query()] = None,
    disadvantaged: Annotated[bool | None, Query()] = None,
    sen: Annotated[list[SenProvision] | None, Query(description="N, K (SEN support), E (EHC plan); repeatable")] = None,
    eal: Annotated[bool | None, Query(description="English as an additional language")] = None,
    ethnicity: Annotated[list[EthnicGroupName] | None, Query(description="Ethnic groups by name (repeatable)")] = None,
    lac: Annotated[bool | None, Query(description="Looked after")] = None,
    class_: Annotated[list[str] | None, Query(alias="class", description=CLASS)] = None,
) -> PupilFilter:
    """Which pupils a view counts. Group figures use each pupil's current characteristics, and their
    class in the view's academic year."""
    return PupilFilter(
        schools=frozenset(school) if school else None,
        year_groups=frozenset(year_group) if year_group else None,
        sex=sex,
        disadvantaged=disadvantaged,
        sen=frozenset(sen) if sen else None,
        eal=eal,
        ethnic_groups=frozenset(EthnicGroup[name.value] for name in ethnicity) if ethnicity else None,
        lac=lac,
        classes=frozenset(class_) if class_ else None,
    )


Filter = Annotated[PupilFilter, Depends(pupil_filter)]


async def school_filter(
    school: Annotated[list[str] | None, Query(description=SCHOOL)] = None,
) -> PupilFilter:
    """Only the school filter (data completion compares whole year groups with the roll)."""
    return PupilFilter(schools=frozenset(school) if school else None)


SchoolFilter = Annotated[PupilFilter, Depends(school_filter)]
