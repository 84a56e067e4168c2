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
    display: str = Field(description="'+2.3', '-1.0', '~ 0' (no data yet or rounds to 0.0), '–' (nothing before)")
    direction: Literal["up", "down", "none"] = Field(description="up: green up arrow; down: red down arrow")


class SummativeDashboard(_FromDomain):
    academic_year: str
    period: str
    previous_period: PeriodOut
    last_updated: str | None
    primary_subjects: list[SubjectTile] = Field(description="Reading, writing, maths and combined RWM, in that order")


class School(_FromDomain):
    school_id: str
    name: str


class CalendarOut(_FromDomain):
    academic_years: list[str] = Field(description="The current academic year and the two before it, oldest first")
    periods: list[str] = Field(description="The Trust's assessment periods, in order")
    current: PeriodOut = Field(description="The period today falls in")
    latest_with_data: PeriodOut | None = Field(description="The latest shown period with any figures")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class LiveNotice(BaseModel):
    """`data` of a `change` event on /v1/live; the event id is the stream id (send it back as Last-Event-ID)."""

    academic_year: str
    period: str
    measures: list[str]
    schools: list[str] = Field(description="Only the schools the caller may see")
