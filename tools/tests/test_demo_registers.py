"""The demo registers (issue 12): every mark is one ingest accepts, and the year looks like a
primary school's (absence and persistent absence near national rates, higher for disadvantaged
pupils, a closure day, Reception's part-time start, holidays in term before a half-term)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest

from tidemark_tools.demo.generator import generate_trust
from tidemark_tools.demo.registers import register_batches, year_group_in
from tidemark_schemas.attendance import counted_as, persistent, sessions_of
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef, is_weekend
from tidemark_schemas.records import AttendanceRecord
from tidemark_schemas.vocabulary import YearGroup

TODAY = date(2026, 3, 10)
YEAR = "2024/25"


@pytest.fixture(scope="module")
def year() -> tuple[list, list[dict[str, str]]]:
    trust = generate_trust(seed=7, schools=3, today=TODAY)
    marks = [mark for batch in register_batches(trust.pupils, [YEAR], TODAY, seed=7) for mark in batch]
    return trust.pupils, marks


def test_every_mark_is_a_valid_register_mark_of_a_school_day_in_batches_ingest_takes(year) -> None:
    pupils, marks = year
    for mark in marks[::97]:
        AttendanceRecord.model_validate(mark)
    assert not any(is_weekend(date.fromisoformat(m["date"])) for m in marks)
    assert len({(m["pupil_id"], m["date"], m["session"]) for m in marks}) == len(marks)
    assert all(len(batch) <= 20_000 for batch in register_batches(pupils, [YEAR], TODAY, seed=7))


def test_absence_is_near_national_and_higher_for_disadvantaged_pupils(year) -> None:
    pupils, marks = year
    by_pupil: dict[str, Counter[str]] = defaultdict(Counter)
    for m in marks:
        by_pupil[m["pupil_id"]][counted_as(m["code"])] += 1
    disadvantaged = {p.pupil_id for p in pupils if p.fsm6 or p.lac or p.plac}

    def rates(ids: set[str]) -> tuple[float, float]:
        sessions = [sessions_of(by_pupil[i]) for i in ids if i in by_pupil]
        absence = sum(s.absent for s in sessions) / sum(s.possible for s in sessions) * 100
        counted = [s for s in sessions if s.possible]
        return absence, sum(persistent(s.absent, s.possible) for s in counted) / len(counted) * 100

    everyone, poorer = rates(set(by_pupil)), rates(disadvantaged)
    assert 4.0 <= everyone[0] <= 8.0 and 10.0 <= everyone[1] <= 25.0
    assert poorer[0] > everyone[0] and poorer[1] > everyone[1]


def test_a_closure_day_reception_starts_part_time_and_holidays_come_before_a_half_term(year) -> None:
    pupils, marks = year
    by_id = {p.pupil_id: p for p in pupils}
    closures = {(m["school_id"], m["date"]) for m in marks if m["code"] == "#"}
    assert len({school for school, _day in closures}) == 3 and len(closures) == 3
    calendar = PeriodCalendar()
    first_weeks = set(map(str, calendar.school_days(PeriodRef(YEAR, "AUT1"))[:10]))
    reception_x = {m["date"] for m in marks if m["code"] == "X"}
    assert reception_x and reception_x <= first_weeks
    assert all(year_group_in(by_id[m["pupil_id"]], date.fromisoformat(m["date"]), TODAY) is YearGroup.R
               for m in marks if m["code"] == "X")
    eves = {calendar.term_time(PeriodRef(YEAR, p)).last_day for p in calendar.periods}
    holidays = [date.fromisoformat(m["date"]) for m in marks if m["code"] == "G"]
    assert sum(any(0 <= (eve - day).days < 7 for eve in eves) for day in holidays) > len(holidays) / 2
