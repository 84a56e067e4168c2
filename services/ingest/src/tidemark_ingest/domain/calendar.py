"""A Trust's own school dates (pure): what setting one academic year's dates stores, and what the
API shows of a year whether or not the Trust set it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from tidemark_schemas.calendar import english_default
from tidemark_schemas.events import CalendarSnapshot
from tidemark_schemas.records import CalendarRecord, HalfTermDates

Source = Literal["trust", "english_default"]


@dataclass(frozen=True, slots=True)
class TrustCalendar:
    """One academic year's school dates of a Trust: its own, or the English default until it sets them."""

    academic_year: str
    source: Annotated[Source, Field(description="`trust`: the Trust's own dates; `english_default`: none set")]
    half_terms: HalfTermDates
    closures: Annotated[list[date], Field(description="Weekdays in term time when the schools are closed")]
    version: Annotated[int | None, Field(description="The version of the Trust's own dates (null for the default)")]


@dataclass(frozen=True, slots=True)
class CalendarSet:
    """The answer to setting a year's dates: whether anything changed (the same dates again change
    nothing and publish nothing), and the dates now in force."""

    changed: bool
    calendar: TrustCalendar


def set_dates(before: CalendarSnapshot | None, academic_year: str, record: CalendarRecord) -> CalendarSnapshot | None:
    """The year's dates once the Trust sets `record` (closures kept sorted, once each); None when
    they are the ones stored already."""
    closures = sorted(set(record.closures))
    if before is not None and before.half_terms == record.half_terms and before.closures == closures:
        return None
    return CalendarSnapshot(academic_year=academic_year, half_terms=record.half_terms, closures=closures,
                            version=1 if before is None else before.version + 1)


def shown(academic_year: str, stored: CalendarSnapshot | None) -> TrustCalendar:
    """A year's dates as the API shows them: the Trust's own when set, else the English default."""
    if stored is None:
        default = CalendarRecord.of(english_default(academic_year))
        return TrustCalendar(academic_year, "english_default", default.half_terms, default.closures, None)
    return TrustCalendar(academic_year, "trust", stored.half_terms, list(stored.closures), stored.version)
