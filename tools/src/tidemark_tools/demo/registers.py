"""The demo Trust's registers: a mark for every pupil on roll, every school day of the three years
up to today, as a school's management information system would send them (issue 12).

What makes them look real, roughly at national primary rates (`attendance_national.py`: absence
about 5-6%, persistent absence about 15%):

- each pupil has an absence propensity for the year (skewed: most rarely miss a day, a few miss
  many), higher for disadvantaged pupils and for SEN support and EHC plans;
- illness (I) peaks in winter and comes in episodes of one to three days; medical appointments (M)
  take one session; late arrivals (L) are present, after the register closes (U) absent;
- some families take holidays in term (G) in the days before a half-term;
- Reception children start part-time: afternoons are X (not of compulsory school age) in their
  first two weeks;
- each school closes for a day once a year (#: a planned closure, not a possible session).

Deterministic for a seed. Generated lazily, school by school and day by day, so a back-fill of
millions of marks never sits in memory: `register_batches` yields the rows of each POST.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from random import Random

from tidemark_schemas.calendar import PeriodCalendar, PeriodRef, academic_year_of, parse_academic_year
from tidemark_schemas.records import MAX_BATCH_ROWS, PupilRecord
from tidemark_schemas.vocabulary import SenProvision, YearGroup

Mark = dict[str, str]
"""One row of POST /v1/attendance."""

_YEAR_GROUPS: tuple[YearGroup, ...] = tuple(YearGroup)
BASE_ABSENCE = 0.026
"""A typical pupil's share of days missed before the season and their characteristics."""
WINTER = {12: 1.5, 1: 1.6, 2: 1.3, 3: 1.1, 9: 0.7, 10: 1.0, 11: 1.2, 4: 0.9, 5: 0.8, 6: 0.8, 7: 0.9}
"""Illness by month: a winter peak."""
TERM_HOLIDAY_SHARE = 0.06
"""Pupils whose family takes a holiday in term in a year (before a half-term)."""


def year_group_in(pupil: PupilRecord, day: date, today: date) -> YearGroup | None:
    """The pupil's year group in the academic year of `day` (the same rule as ingest's: the record's
    year group is this year's, or a leaver's when they left)."""
    position = _YEAR_GROUPS.index(pupil.year_group) + parse_academic_year(academic_year_of(day)) - \
        parse_academic_year(academic_year_of(pupil.left_on or today))
    return _YEAR_GROUPS[position] if 0 <= position < len(_YEAR_GROUPS) else None


def _propensity(rng: Random, pupil: PupilRecord) -> float:
    """A pupil's share of days absent this year: skewed (a gamma), raised by disadvantage and SEN."""
    factor = (1.7 if pupil.fsm6 or pupil.lac else 1.0) * {SenProvision.N: 1.0, SenProvision.K: 1.5,
                                                          SenProvision.E: 2.0}[pupil.sen]
    return min(0.6, rng.gammavariate(1.2, BASE_ABSENCE / 1.2) * factor)


def school_days(calendar: PeriodCalendar, academic_year: str, today: date) -> list[date]:
    """The year's school days up to today."""
    return [day for period in calendar.periods for day in calendar.school_days(PeriodRef(academic_year, period))
            if day <= today]


def school_registers(
    rng: Random, school_id: str, pupils: Sequence[PupilRecord], academic_year: str, calendar: PeriodCalendar,
    today: date,
) -> Iterator[Mark]:
    """One school's marks for one academic year, day by day."""
    days = school_days(calendar, academic_year, today)
    if not days:
        return
    closure = days[rng.randrange(len(days))]
    half_term_eves = {calendar.term_time(PeriodRef(academic_year, p)).last_day for p in calendar.periods}
    roll = []
    for pupil in pupils:
        year_group = year_group_in(pupil, days[0], today)
        if year_group is None:
            continue
        holiday = rng.random() < TERM_HOLIDAY_SHARE * (1.5 if pupil.fsm6 else 1.0)
        holiday_before = rng.choice(sorted(half_term_eves)) if holiday else None
        roll.append((pupil, year_group, _propensity(rng, pupil), holiday_before, [0]))
    for index, day in enumerate(days):
        iso = day.isoformat()
        season = WINTER.get(day.month, 1.0)
        for pupil, year_group, propensity, holiday_before, ill_days in roll:
            if pupil.left_on is not None and day > pupil.left_on:
                continue
            am, pm = _day_codes(rng, day, index, year_group, propensity * season, holiday_before, ill_days, closure)
            yield {"pupil_id": pupil.pupil_id, "school_id": school_id, "date": iso, "session": "AM", "code": am}
            yield {"pupil_id": pupil.pupil_id, "school_id": school_id, "date": iso, "session": "PM", "code": pm}


def _day_codes(
    rng: Random, day: date, index: int, year_group: YearGroup, rate: float, holiday_before: date | None,
    ill_days: list[int], closure: date,
) -> tuple[str, str]:
    """The morning's and afternoon's codes of one pupil on one day."""
    if day == closure:
        return "#", "#"
    if holiday_before is not None and 0 <= (holiday_before - day).days < 5 and (holiday_before - day).days != 3:
        return "G", "G"
    if ill_days[0] > 0:
        ill_days[0] -= 1
        return "I", "I"
    draw = rng.random()
    if draw < rate * 0.75:
        ill_days[0] = rng.choice((0, 0, 1, 1, 2))
        return "I", "I"
    if draw < rate * 0.85:
        return ("M", "/") if rng.random() < 0.5 else ("/", "M")
    if draw < rate:
        code = rng.choice(("O", "N", "G", "U", "C", "R", "E"))
        return code, ("\\" if code == "U" else code)
    pm = "X" if year_group is YearGroup.R and index < 10 else "\\"
    am = "L" if rng.random() < 0.02 else "/"
    return am, pm


def register_batches(
    pupils: Sequence[PupilRecord], academic_years: Sequence[str], today: date, seed: int,
    calendar: PeriodCalendar | None = None, batch_size: int = MAX_BATCH_ROWS,
) -> Iterator[list[Mark]]:
    """Every school's registers of `academic_years` (up to today), in POST-sized batches: school by
    school, so each batch covers a few weeks of one school's pupils."""
    calendar = calendar or PeriodCalendar()
    rng = Random(seed)
    by_school: dict[str, list[PupilRecord]] = {}
    for pupil in pupils:
        by_school.setdefault(pupil.school_id, []).append(pupil)
    batch: list[Mark] = []
    for academic_year in academic_years:
        for school_id in sorted(by_school):
            for mark in school_registers(rng, school_id, by_school[school_id], academic_year, calendar, today):
                batch.append(mark)
                if len(batch) == batch_size:
                    yield batch
                    batch = []
    if batch:
        yield batch
