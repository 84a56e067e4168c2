"""Academic years, assessment periods and their dates, school weeks.

One source for every date rule: an academic year runs 1 September to 31 August; each year has six
half-terms whose first and last school days come from the Trust's own dates or, until a Trust sets
them, from the English default below (`english_default`); the Trust's assessment periods (six
half-terms, or three terms) cover the academic year without gaps, so any date falls in exactly one
period (`PeriodCalendar.period_of`): a period starts the day after the previous one's last school
day (the first on 1 September) and ends on its own last school day (the last on 31 August), so the
holiday before a half-term belongs to it. Weeks run Monday to Friday and are named by their
Monday's ISO date (`week_of`).

The English default (`docs/domain-decisions.md`, from `dfe-rules.md` section 8: three terms, each
split by a one-week half-term holiday in late October, mid-February and late May, Easter moving):

- Autumn 1: the first weekday on or after 3 September to the Friday before the last Monday of
  October (the October half-term is the week of that Monday).
- Autumn 2: the Monday after half-term to the last weekday on or before 20 December.
- Spring 1: the first weekday on or after 4 January to the Friday before the first Monday on or
  after 12 February (the February half-term is the week of that Monday).
- Spring 2: the Monday after half-term to the Friday before the week of Good Friday (the Easter
  holiday is the week of Good Friday and the week after).
- Summer 1: the Monday after the Easter holiday to the Friday before the spring bank holiday (the
  last Monday of May, whose week is the May half-term); the early May bank holiday (first Monday
  of May) is a closure.
- Summer 2: the Monday after the May half-term to the last weekday on or before 22 July.

That gives about 195 weekdays of term a year: the 190 pupil days plus the five INSET days each
school places itself. Attendance never counts calendar days, only the marks schools send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Annotated

from pydantic import Field

ACADEMIC_YEAR_PATTERN = re.compile(r"^([0-9]{4})/([0-9]{2})$")
"""ASCII digits only (`\\d` would take any script's digits); matched whole (`fullmatch`: no trailing newline)."""

YEARS_SHOWN = 3
"""Dashboards cover the current academic year and the two before it."""

HALF_TERMS: tuple[str, ...] = ("AUT1", "AUT2", "SPR1", "SPR2", "SUM1", "SUM2")
TERMS: tuple[str, ...] = ("AUT", "SPR", "SUM")
TERM_HALVES: dict[str, tuple[str, str]] = {"AUT": ("AUT1", "AUT2"), "SPR": ("SPR1", "SPR2"), "SUM": ("SUM1", "SUM2")}
"""The two half-terms of each term: a termly calendar's dates follow from the half-terms'."""

ONE_DAY = timedelta(days=1)


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


@lru_cache(maxsize=4096)
def academic_year_of(day: date) -> str:
    """The academic year (1 September to 31 August) a date falls in."""
    return format_academic_year(day.year if day.month >= 9 else day.year - 1)


def first_day_of(academic_year: str) -> date:
    return date(parse_academic_year(academic_year), 9, 1)


def last_day_of(academic_year: str) -> date:
    return date(parse_academic_year(academic_year) + 1, 8, 31)


# -- weeks ----------------------------------------------------------------------------------------


def is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_of(day: date) -> str:
    """The school week a date falls in, named by its Monday's ISO date (weeks run Monday to Friday)."""
    return monday_of(day).isoformat()


# -- one academic year's school dates --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TermTime:
    """The first and last school day of one half-term."""

    first_day: date
    last_day: date


@dataclass(frozen=True)
class YearDates:
    """One academic year's school dates: the six half-terms (in `HALF_TERMS` order) and the
    weekdays in term time when schools are closed (bank holidays). A Trust may set its own."""

    academic_year: str
    half_terms: tuple[TermTime, ...]
    closures: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        problems = year_dates_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    def term_time(self, half_term: str) -> TermTime:
        return self.half_terms[HALF_TERMS.index(half_term)]


def year_dates_problems(dates: YearDates) -> list[str]:
    """Why a year's dates are unusable (empty when they are fine): `year_dates_errors`' reasons."""
    return [reason for _field, reason in year_dates_errors(dates.academic_year, dates.half_terms, dates.closures)]


def year_dates_errors(
    academic_year: str, half_terms: Sequence[TermTime], closures: Iterable[date] = ()
) -> list[tuple[str, str]]:
    """(field, reason) of each problem of a year's dates (empty when they are fine): six half-terms
    in order, each from a weekday to a weekday, inside the academic year, none overlapping the next;
    closures on weekdays in term time. The field is the path of the API's body
    (`records.CalendarRecord`: `half_terms.AUT1.last_day`, `closures`, the reason naming the day)."""
    if len(half_terms) != len(HALF_TERMS):
        return [("half_terms", f"expected the six half-terms {', '.join(HALF_TERMS)}, got {len(half_terms)}")]
    problems: list[tuple[str, str]] = []
    opens, closes = first_day_of(academic_year), last_day_of(academic_year)
    previous: TermTime | None = None
    for name, term in zip(HALF_TERMS, half_terms, strict=True):
        where = f"half_terms.{name}"
        if term.first_day > term.last_day:
            problems.append((f"{where}.last_day", f"{name} ends before it starts"))
        for end, day in (("first_day", term.first_day), ("last_day", term.last_day)):
            if is_weekend(day):
                problems.append((f"{where}.{end}", f"{name} must start and end on a weekday ({day} is a {day:%A})"))
            if not opens <= day <= closes:
                problems.append((f"{where}.{end}",
                                 f"{name} must lie within {academic_year} (1 September to 31 August)"))
        if previous is not None and term.first_day <= previous.last_day:
            problems.append((f"{where}.first_day", f"{name} must start after the half-term before it ends"))
        previous = term
    for day in sorted(set(closures)):
        if is_weekend(day):
            problems.append(("closures", f"{day} is a {day:%A}: a closure is a weekday in term time"))
        elif not any(t.first_day <= day <= t.last_day for t in half_terms):
            problems.append(("closures", f"{day} is not in term time of {academic_year}"))
    return problems


def easter_sunday(year: int) -> date:
    """Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's own name)
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _weekday_on_or_after(day: date) -> date:
    while is_weekend(day):
        day += ONE_DAY
    return day


def _weekday_on_or_before(day: date) -> date:
    while is_weekend(day):
        day -= ONE_DAY
    return day


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - ONE_DAY
    return last - timedelta(days=last.weekday())


FRIDAY_BEFORE = timedelta(days=3)
"""From a Monday back to the Friday before it."""
WEEK = timedelta(days=7)


@lru_cache(maxsize=64)
def english_default(academic_year: str) -> YearDates:
    """The default English school dates of an academic year (the rule in the module docstring)."""
    start = parse_academic_year(academic_year)
    october = _last_monday(start, 10)
    february = _monday_on_or_after(date(start + 1, 2, 12))
    easter = easter_sunday(start + 1) - timedelta(days=6)  # the Monday of the week of Good Friday
    may = _last_monday(start + 1, 5)
    summer1 = TermTime(easter + 2 * WEEK, may - FRIDAY_BEFORE)
    early_may = _monday_on_or_after(date(start + 1, 5, 1))
    return YearDates(
        academic_year,
        (
            TermTime(_weekday_on_or_after(date(start, 9, 3)), october - FRIDAY_BEFORE),
            TermTime(october + WEEK, _weekday_on_or_before(date(start, 12, 20))),
            TermTime(_weekday_on_or_after(date(start + 1, 1, 4)), february - FRIDAY_BEFORE),
            TermTime(february + WEEK, easter - FRIDAY_BEFORE),
            summer1,
            TermTime(may + WEEK, _weekday_on_or_before(date(start + 1, 7, 22))),
        ),
        frozenset({early_may}) if summer1.first_day <= early_may <= summer1.last_day else frozenset(),
    )


# -- assessment periods ---------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class PeriodRef:
    """One assessment period of one academic year, ordered in time."""

    academic_year: Annotated[str, Field(examples=["2025/26"])]
    period: Annotated[str, Field(examples=["AUT1"])]


class PeriodCalendar:
    """The Trust's ordered assessment periods (default: six half-terms) and their dates: the
    Trust's own per academic year where given (`dates`), else the English default."""

    def __init__(self, periods: tuple[str, ...] = HALF_TERMS, dates: Mapping[str, YearDates] | None = None) -> None:
        unknown = [p for p in periods if p not in HALF_TERMS + TERMS]
        if unknown or not periods:
            raise ValueError(f"unknown assessment periods: {unknown}")
        if tuple(periods) not in (HALF_TERMS, TERMS):
            raise ValueError(f"assessment periods are the six half-terms {HALF_TERMS} or the three terms {TERMS}, in order")
        self.periods = tuple(periods)
        self._dates: dict[str, YearDates] = dict(dates or {})
        self._spans: dict[PeriodRef, tuple[date, date]] = {}

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

    def dates(self, academic_year: str) -> YearDates:
        """The school dates of an academic year: the Trust's own, else the English default."""
        return self._dates.get(academic_year) or english_default(academic_year)

    def span(self, ref: PeriodRef) -> tuple[date, date]:
        """The first and last day a period covers: from the day after the previous period's last
        school day (1 September for the first) to its own last school day (31 August for the last)."""
        found = self._spans.get(ref)
        if found is None:
            found = self._spans[ref] = _span(self.dates(ref.academic_year), ref.period)
        return found

    def term_time(self, ref: PeriodRef) -> TermTime:
        """A period's first and last school day."""
        dates = self.dates(ref.academic_year)
        first, last = TERM_HALVES.get(ref.period, (ref.period, ref.period))
        return TermTime(dates.term_time(first).first_day, dates.term_time(last).last_day)

    def period_of(self, day: date) -> PeriodRef:
        """The period a date falls in (every date of an academic year falls in exactly one)."""
        year = academic_year_of(day)
        for period in self.periods:
            ref = PeriodRef(year, period)
            if day <= self.span(ref)[1]:
                return ref
        raise AssertionError("the periods cover the academic year")  # pragma: no cover

    def school_days(self, ref: PeriodRef) -> list[date]:
        """The weekdays of a period's term time when schools are open (no INSET days: each school
        places its own)."""
        term = self.term_time(ref)
        closed = self.dates(ref.academic_year).closures
        days, day = [], term.first_day
        while day <= term.last_day:
            if not is_weekend(day) and day not in closed and self._in_term(ref.academic_year, day):
                days.append(day)
            day += ONE_DAY
        return days

    def _in_term(self, academic_year: str, day: date) -> bool:
        return any(t.first_day <= day <= t.last_day for t in self.dates(academic_year).half_terms)

    @staticmethod
    def start_date(ref: PeriodRef) -> date:
        """The first day a period covers in the English default dates (whether a leaver was on roll,
        which period has started)."""
        return default_span(ref.academic_year, ref.period)[0]


def _span(dates: YearDates, period: str) -> tuple[date, date]:
    first, last = TERM_HALVES.get(period, (period, period))
    position, end_position = HALF_TERMS.index(first), HALF_TERMS.index(last)
    start = (
        first_day_of(dates.academic_year) if position == 0
        else dates.half_terms[position - 1].last_day + ONE_DAY
    )
    end = last_day_of(dates.academic_year) if end_position == len(HALF_TERMS) - 1 else dates.half_terms[end_position].last_day
    return start, end


@lru_cache(maxsize=1024)
def default_span(academic_year: str, period: str) -> tuple[date, date]:
    """A half-term's or a term's span in the English default dates."""
    return _span(english_default(academic_year), period)
