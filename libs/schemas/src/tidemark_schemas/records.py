"""Records the tracker sends to the ingest API (one row of a batch each).

Field validation here is structural (types, code lists, formats); referential checks
(does the pupil exist, is the school in the caller's Trust) happen in ingest.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from tidemark_schemas.assessment_model import AssessmentModel, ModelCodeValue
from tidemark_schemas.calendar import HALF_TERMS, TERMS, parse_academic_year
from tidemark_schemas.ethnicity import CENSUS_ETHNICITY
from tidemark_schemas.vocabulary import (
    EYFS_GOALS,
    PRIMARY_SUBJECTS,
    Band,
    SenProvision,
    Sex,
    YearGroup,
    subjects_for,
)

Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]
"""Ids are opaque strings of letters, digits, `_`, `.` and `-` (a UPN fits)."""

KNOWN_PERIODS: frozenset[str] = frozenset(HALF_TERMS + TERMS)


def _check_academic_year(value: str) -> str:
    parse_academic_year(value)
    return value


def _check_period(value: str) -> str:
    if value not in KNOWN_PERIODS:
        raise ValueError(f"unknown assessment period {value!r}; expected one of {', '.join(HALF_TERMS + TERMS)}")
    return value


AcademicYear = Annotated[str, AfterValidator(_check_academic_year), Field(examples=["2025/26"])]
Period = Annotated[str, AfterValidator(_check_period), Field(examples=["AUT1"])]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchoolRecord(_Record):
    school_id: Identifier
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    assessment_model: AssessmentModel | None = Field(
        default=None,
        description="The school's own summative model (finer codes mapped to bands); null: bands only",
    )


class PupilFields(_Record):
    """A pupil's identity, school, year group and current characteristics (API row and event alike)."""

    pupil_id: Identifier
    school_id: Identifier
    year_group: YearGroup
    sex: Sex
    fsm6: bool
    lac: bool
    plac: bool
    sen: SenProvision
    eal: bool
    ethnicity: str = Field(description="School census ethnicity code, e.g. WBRI")
    left_on: date | None = None

    @field_validator("ethnicity")
    @classmethod
    def _known_census_code(cls, value: str) -> str:
        if value not in CENSUS_ETHNICITY:
            raise ValueError(f"unknown census ethnicity code {value!r}")
        return value

    @property
    def disadvantaged(self) -> bool:
        """FSM at any point in six years, looked after, or previously looked after."""
        return self.fsm6 or self.lac or self.plac


class PupilRecord(PupilFields):
    """A pupil as the tracker sends it; re-sending updates it."""


class AssessmentRecord(_Record):
    """An entered (draft) summative result: a band, or the code of the school's own model (whose
    band then follows from the model; ingest checks the code against the school's model)."""

    pupil_id: Identifier
    school_id: Identifier
    academic_year: AcademicYear
    period: Period
    year_group: YearGroup
    subject: str = Field(examples=["reading", "E01"])
    code: ModelCodeValue | None = Field(
        default=None, description="A code of the school's assessment model (required when the school has one)"
    )
    band: Band | None = Field(
        default=None, validate_default=True, description="BELOW, AT or ABOVE; may be left out when `code` is sent"
    )

    @field_validator("band")
    @classmethod
    def _band_or_code(cls, value: Band | None, info: ValidationInfo) -> Band | None:
        # A `code` that failed its own validation is missing from info.data and already reported.
        if value is None and "code" in info.data and info.data["code"] is None:
            raise ValueError("a result needs a band (BELOW, AT, ABOVE) or a code of its school's assessment model")
        return value

    @field_validator("subject")
    @classmethod
    def _subject_fits_year_group(cls, value: str, info: ValidationInfo) -> str:
        year_group = info.data.get("year_group")
        if year_group is None:
            return value  # the year group error is reported on its own field
        if value not in subjects_for(year_group):
            kind = "an Early Learning Goal E01..E17" if year_group is YearGroup.R else "a primary subject"
            raise ValueError(f"unknown subject {value!r}: expected {kind} for year group {year_group}")
        return value


class LockScope(_Record):
    """Which results a lock or unlock applies to: one school's period, optionally narrowed."""

    school_id: Identifier
    academic_year: AcademicYear
    period: Period
    year_group: YearGroup | None = None
    subject: str | None = None

    @field_validator("subject")
    @classmethod
    def _known_subject(cls, value: str | None) -> str | None:
        if value is not None and value not in PRIMARY_SUBJECTS + EYFS_GOALS:
            raise ValueError(f"unknown subject {value!r}")
        return value
