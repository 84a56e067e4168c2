"""Records the tracker sends to the ingest API (one row of a batch each).

Field validation here is structural (types, code lists, formats); referential checks
(does the pupil exist, is the school in the caller's Trust) happen in ingest.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from tidemark_schemas.assessment_model import AssessmentModel, ModelCodeValue
from tidemark_schemas.attendance import RegisterCodeValue, Session, register_code
from tidemark_schemas.calendar import (
    HALF_TERMS,
    TERMS,
    TermTime,
    YearDates,
    academic_year_of,
    first_day_of,
    format_academic_year,
    last_day_of,
    is_weekend,
    parse_academic_year,
    year_dates_errors,
)
from tidemark_schemas.ethnicity import CENSUS_ETHNICITY
from tidemark_schemas.rules import is_disadvantaged
from tidemark_schemas.text import Name
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


EARLIEST_ACADEMIC_YEAR = 2000
"""The first academic year (2000/01) Tidemark takes data for; the last is the one after the current."""


def academic_year_window(today: date | None = None) -> tuple[int, int]:
    """(first, last) starting years of the academic years Tidemark takes data for."""
    return EARLIEST_ACADEMIC_YEAR, parse_academic_year(academic_year_of(today or date.today())) + 1


def check_academic_year(value: str) -> str:
    """An academic year (`2025/26`) within the window Tidemark takes data for (`academic_year_window`)."""
    start = parse_academic_year(value)
    first, last = academic_year_window()
    if not first <= start <= last:
        raise ValueError(f"must be between {format_academic_year(first)} and {format_academic_year(last)}")
    return value


def check_date_in_window(value: date) -> date:
    """A date within the academic years Tidemark takes data for."""
    first, last = academic_year_window()
    if not date(first, 9, 1) <= value <= date(last + 1, 8, 31):
        raise ValueError(f"must be between {date(first, 9, 1)} and {date(last + 1, 8, 31)}")
    return value


def _check_period(value: str) -> str:
    if value not in KNOWN_PERIODS:
        raise ValueError(f"unknown assessment period {value!r}; expected one of {', '.join(HALF_TERMS + TERMS)}")
    return value


AcademicYear = Annotated[str, AfterValidator(check_academic_year), Field(examples=["2025/26"])]
Period = Annotated[str, AfterValidator(_check_period), Field(examples=["AUT1"])]


def _not_in_the_future(value: date | None) -> date | None:
    if value is not None and value > date.today():
        raise ValueError(f"{value} is in the future: an assessment date is the day it was assessed")
    return value


AssessedOn = Annotated[
    date | None,
    AfterValidator(_not_in_the_future),
    Field(description="The day the pupil was assessed: not in the future, within the entry's academic year; left "
          "out: the day it is entered (for an earlier academic year, its last day), or the stored date when the "
          "value is unchanged"),
]


def assessment_date_problem(assessed_on: date, academic_year: str) -> str | None:
    """Why an assessment date does not fit its entry's academic year (None: it does)."""
    if academic_year_of(assessed_on) != academic_year:
        return f"{assessed_on} is not in the academic year {academic_year} of the entry"
    return None


def in_the_entrys_year(value: date | None, info: ValidationInfo) -> date | None:
    """A record's `assessed_on` validator (summative and statutory): within the entry's academic year."""
    year = info.data.get("academic_year")
    if value is not None and year is not None and (problem := assessment_date_problem(value, year)):
        raise ValueError(problem)
    return value


def default_assessment_date(academic_year: str, today: date) -> date:
    """The date an entry sent without one records: the day it is entered, kept within its academic
    year (an earlier year's entry: its last day; a later year's: its first)."""
    return min(max(today, first_day_of(academic_year)), last_day_of(academic_year))


MAX_BATCH_ROWS = 20_000
"""The most rows one POST of schools, pupils, assessments or statutory results may carry. A part of
the contract, not a setting: larger loads are sent as several batches."""


def _at_most_max_batch_rows(rows: Any) -> Any:
    """Refuse an over-long batch before any of its rows is validated: pydantic's own `max_length`
    is checked as the items are validated, so it would validate MAX_BATCH_ROWS + 1 rows first."""
    if isinstance(rows, list) and len(rows) > MAX_BATCH_ROWS:
        raise PydanticCustomError("too_long", "at most {max_length} rows per batch, not {actual_length}",
                                  {"field_type": "List", "max_length": MAX_BATCH_ROWS, "actual_length": len(rows)})
    return rows


Row = TypeVar("Row", bound=BaseModel)
Batch = Annotated[list[Row], BeforeValidator(_at_most_max_batch_rows), Field(max_length=MAX_BATCH_ROWS)]
"""The body of a batch POST: at most MAX_BATCH_ROWS rows of one kind (`Batch[PupilRecord]`), the
limit checked before the rows are and stated in the JSON Schema (`maxItems`)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchoolRecord(_Record):
    school_id: Identifier
    name: Name
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
    fsm6: StrictBool
    lac: StrictBool
    plac: StrictBool
    sen: SenProvision
    eal: StrictBool
    ethnicity: str = Field(description="School census ethnicity code, e.g. WBRI")
    left_on: date | None = Field(default=None, description="The leaving date of a leaver; null while on roll")

    @field_validator("left_on")
    @classmethod
    def _left_within_the_window(cls, value: date | None) -> date | None:
        if value is not None:
            check_date_in_window(value)
        return value

    @field_validator("ethnicity")
    @classmethod
    def _known_census_code(cls, value: str) -> str:
        if value not in CENSUS_ETHNICITY:
            raise ValueError(f"unknown census ethnicity code {value!r}")
        return value

    @property
    def disadvantaged(self) -> bool:
        return is_disadvantaged(self.fsm6, self.lac, self.plac)


class ClassRecord(_Record):
    """A class of one school in one academic year, and the year group(s) it teaches. Its id is the
    Trust's for that class and year (a class of another year is another class: `3B-2025`)."""

    class_id: Identifier
    school_id: Identifier
    academic_year: AcademicYear
    name: Name
    year_groups: list[YearGroup] = Field(min_length=1, max_length=len(YearGroup),
                                         description="The year group(s) it teaches (a mixed-age class has several)")

    @field_validator("year_groups")
    @classmethod
    def _distinct(cls, value: list[YearGroup]) -> list[YearGroup]:
        if len(set(value)) != len(value):
            raise ValueError("a year group is listed twice")
        return sorted(value, key=list(YearGroup).index)


class PupilRecord(PupilFields):
    """A pupil as the tracker sends it; re-sending updates it."""

    class_id: Identifier | None = Field(
        default=None,
        description="The pupil's class (`POST /v1/classes`): their class in that class's academic year, replacing "
        "the one they had in that year (a move); the classes of other years stay. Left out: unchanged; null: no class "
        "in the current academic year",
    )


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
    assessed_on: AssessedOn = None

    @field_validator("band")
    @classmethod
    def _band_or_code(cls, value: Band | None, info: ValidationInfo) -> Band | None:
        # A `code` that failed its own validation is missing from info.data and already reported.
        if value is None and "code" in info.data and info.data["code"] is None:
            raise ValueError("a result needs a band (BELOW, AT, ABOVE) or a code of its school's assessment model")
        return value

    _in_the_entrys_year = field_validator("assessed_on")(in_the_entrys_year)

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
    """Which results a lock or unlock applies to (and what an entry sheet shows): one school's
    period, optionally narrowed to a year group, a class and a subject."""

    school_id: Identifier
    academic_year: AcademicYear
    period: Period
    year_group: YearGroup | None = Field(default=None, description="Only results of this year group")
    class_id: Identifier | None = Field(
        default=None, description="Only results of the pupils in this class in the academic year (a class of the "
        "school in that year: 422 otherwise)")
    subject: str | None = Field(default=None, description="Only results of this subject")

    @field_validator("subject")
    @classmethod
    def _known_subject(cls, value: str | None) -> str | None:
        if value is not None and value not in PRIMARY_SUBJECTS + EYFS_GOALS:
            raise ValueError(f"unknown subject {value!r}")
        return value


class AttendanceRecord(_Record):
    """One register mark as the tracker sends it: a pupil's session on a school day. A later mark
    for the same pupil, date and session replaces the earlier one (a correction). The code must be
    in force on the date (`attendance.register_code`: the 2024 codes from 19 August 2024, the
    retired ones before)."""

    pupil_id: Identifier
    school_id: Identifier = Field(description="The school that took the register")
    date: dt.date = Field(description="A school day (Monday to Friday) within the academic years Tidemark takes data for")
    session: Session = Field(description="AM or PM")
    code: RegisterCodeValue = Field(description="A register code in force on the date ('-' for no mark)")

    @field_validator("date")
    @classmethod
    def _school_day_in_window(cls, value: dt.date) -> dt.date:
        if is_weekend(value):
            raise ValueError(f"{value} is a {value:%A}: register marks are for school days, Monday to Friday")
        return check_date_in_window(value)

    @field_validator("code")
    @classmethod
    def _in_force_on_the_date(cls, value: str, info: ValidationInfo) -> str:
        day = info.data.get("date")
        if day is not None:
            register_code(value, day)
        return value


class TermDates(_Record):
    """The first and last school day of one half-term."""

    first_day: dt.date = Field(description="The half-term's first school day (a weekday)")
    last_day: dt.date = Field(description="Its last school day (a weekday)")


class HalfTermDates(_Record):
    """The six half-terms of one academic year, in order (`calendar.HALF_TERMS`)."""

    AUT1: TermDates
    AUT2: TermDates
    SPR1: TermDates
    SPR2: TermDates
    SUM1: TermDates
    SUM2: TermDates


MAX_CLOSURES = 60
"""More closure days than a year could sensibly have: a longer list is refused as malformed."""


class CalendarRecord(_Record):
    """One academic year's school dates as a Trust sets them (`PUT /v1/calendar/{academic_year}`):
    each half-term's first and last school day, and the weekdays in term time when its schools are
    closed (bank holidays). The rules are `calendar.year_dates_errors`."""

    half_terms: HalfTermDates
    closures: list[dt.date] = Field(default_factory=list, max_length=MAX_CLOSURES,
                                    description="Weekdays in term time when the Trust's schools are closed")

    def errors(self, academic_year: str) -> list[tuple[str, str]]:
        """(field, reason) of every rule the dates break in `academic_year` (empty: usable)."""
        return year_dates_errors(academic_year, self._terms(), self.closures)

    def year_dates(self, academic_year: str) -> YearDates:
        """The dates as the calendar uses them; raises ValueError when they break a rule."""
        return YearDates(academic_year, self._terms(), frozenset(self.closures))

    def _terms(self) -> tuple[TermTime, ...]:
        return tuple(TermTime(t.first_day, t.last_day) for t in (getattr(self.half_terms, n) for n in HALF_TERMS))

    @classmethod
    def of(cls, dates: YearDates) -> CalendarRecord:
        """A year's dates as the API shows them (the English default, or a Trust's own)."""
        return cls(
            half_terms=HalfTermDates(**{name: TermDates(first_day=t.first_day, last_day=t.last_day)
                                        for name, t in zip(HALF_TERMS, dates.half_terms, strict=True)}),
            closures=sorted(dates.closures),
        )
