"""Which academic years and period a dashboard offers and opens on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import Field

from tidemark_schemas.calendar import PeriodCalendar, PeriodRef, academic_year_of, academic_years_up_to


@dataclass(frozen=True, slots=True)
class CalendarView:
    """What the period selector offers, and where pages open."""

    academic_years: Annotated[
        list[str], Field(description="The current academic year and the two before it, oldest first")
    ]
    periods: Annotated[list[str], Field(description="The Trust's assessment periods, in order")]
    current: Annotated[PeriodRef, Field(description="The period today falls in")]
    latest_with_data: Annotated[
        PeriodRef | None, Field(description="The latest shown period with any figures (where the summative pages open)")
    ]
    latest_statutory_year: Annotated[
        str | None,
        Field(description="The latest shown academic year with statutory results (where the statutory pages open); "
              "null when none has any"),
    ]


def academic_years_shown(today: date) -> list[str]:
    """The current academic year and the two before it, oldest first."""
    return academic_years_up_to(academic_year_of(today))


def current_period(calendar: PeriodCalendar, today: date) -> PeriodRef:
    """The period today falls in: the last one of this academic year that has started."""
    year = academic_year_of(today)
    started = [p for p in calendar.periods if calendar.span(PeriodRef(year, p))[0] <= today]
    return PeriodRef(year, started[-1] if started else calendar.periods[0])
