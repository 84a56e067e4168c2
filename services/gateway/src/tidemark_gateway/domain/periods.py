"""Which academic years and period a dashboard offers and opens on."""

from __future__ import annotations

from datetime import date

from tidemark_schemas.calendar import (
    PeriodCalendar,
    PeriodRef,
    academic_year_of,
    academic_years_up_to,
    parse_academic_year,
)


def check_academic_year(value: str) -> str:
    """Validator for the `academic_year` parameter (`2025/26`)."""
    parse_academic_year(value)
    return value


def academic_years_shown(today: date) -> list[str]:
    """The current academic year and the two before it, oldest first."""
    return academic_years_up_to(academic_year_of(today))


def current_period(calendar: PeriodCalendar, today: date) -> PeriodRef:
    """The period today falls in: the last one of this academic year that has started."""
    year = academic_year_of(today)
    started = [p for p in calendar.periods if PeriodCalendar.start_date(PeriodRef(year, p)) <= today]
    return PeriodRef(year, started[-1] if started else calendar.periods[0])
