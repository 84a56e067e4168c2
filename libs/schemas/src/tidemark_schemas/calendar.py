"""Academic years and assessment periods: naming, order and "previous period"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Annotated

from pydantic import Field

ACADEMIC_YEAR_PATTERN = re.compile(r"^([0-9]{4})/([0-9]{2})$")
"""ASCII digits only (`\\d` would take any script's digits); matched whole (`fullmatch`: no trailing newline)."""

YEARS_SHOWN = 3
"""Dashboards cover the current academic year and the two before it."""

HALF_TERMS: tuple[str, ...] = ("AUT1", "AUT2", "SPR1", "SPR2", "SUM1", "SUM2")
TERMS: tuple[str, ...] = ("AUT", "SPR", "SUM")

# First day of each period as (month, day). Schools set their own dates; these are the
# conventional English half-term starts and only decide whether a leaver was on roll.
PERIOD_STARTS: dict[str, tuple[int, int]] = {
    "AUT1": (9, 1),
    "AUT2": (11, 1),
    "SPR1": (1, 1),
    "SPR2": (2, 22),
    "SUM1": (4, 15),
    "SUM2": (6, 1),
    "AUT": (9, 1),
    "SPR": (1, 1),
    "SUM": (4, 15),
}


@lru_cache(maxsize=1024)
def parse_academic_year(value: str) -> int:
    """Return the starting calendar year of `2025/26`; raise ValueError if malformed. Every event
    carries an academic year and there are few of them, so the answers are kept."""
    match = ACADEMIC_YEAR_PATTERN.fullmatch(value)
    if not match:
        raise ValueError("must look like 2025/26")
    start, end = int(match.group(1)), int(match.group(2))
    if (start + 1) % 100 != end:
        raise ValueError("the second year must follow the first, as in 2025/26")
    return start


def format_academic_year(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


def academic_years_up_to(academic_year: str, years: int = YEARS_SHOWN) -> list[str]:
    """`academic_year` and the `years - 1` before it, oldest first."""
    end = parse_academic_year(academic_year)
    return [format_academic_year(start) for start in range(end - years + 1, end + 1)]


def academic_year_of(day: date) -> str:
    """The academic year (1 September to 31 August) a date falls in."""
    return format_academic_year(day.year if day.month >= 9 else day.year - 1)


@dataclass(frozen=True, order=True)
class PeriodRef:
    """One assessment period of one academic year, ordered in time."""

    academic_year: Annotated[str, Field(examples=["2025/26"])]
    period: Annotated[str, Field(examples=["AUT1"])]


class PeriodCalendar:
    """The Trust's ordered assessment periods (default: six half-terms)."""

    def __init__(self, periods: tuple[str, ...] = HALF_TERMS) -> None:
        unknown = [p for p in periods if p not in PERIOD_STARTS]
        if unknown or not periods:
            raise ValueError(f"unknown assessment periods: {unknown}")
        self.periods = periods

    def __contains__(self, period: str) -> bool:
        return period in self.periods

    def index(self, ref: PeriodRef) -> int:
        """A total order over (year, period): years first, then the Trust's period order."""
        return parse_academic_year(ref.academic_year) * len(self.periods) + self.periods.index(
            ref.period
        )

    def previous(self, ref: PeriodRef) -> PeriodRef:
        """The period before, crossing into the prior academic year from the first period."""
        position = self.periods.index(ref.period)
        if position > 0:
            return PeriodRef(ref.academic_year, self.periods[position - 1])
        prior_year = format_academic_year(parse_academic_year(ref.academic_year) - 1)
        return PeriodRef(prior_year, self.periods[-1])

    def window(self, academic_year: str, years: int = YEARS_SHOWN) -> list[PeriodRef]:
        """Every period of `academic_year` and the `years - 1` before it, oldest first."""
        return [PeriodRef(year, p) for year in academic_years_up_to(academic_year, years) for p in self.periods]

    @staticmethod
    def start_date(ref: PeriodRef) -> date:
        month, day = PERIOD_STARTS[ref.period]
        first_year = parse_academic_year(ref.academic_year)
        return date(first_year if month >= 9 else first_year + 1, month, day)
