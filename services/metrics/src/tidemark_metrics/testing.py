"""What the metrics tests share (imported by tests only): the attendance projection's counters
counted from scratch, the plain reference its property tests compare the stored counters with."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from tidemark_runtime.redis import RedisClient
from tidemark_schemas.aggregates import Cell, Keyspace, encode_cell
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.ethnicity import ethnic_group
from tidemark_schemas.events import AttendanceMarked, PupilUpserted
from tidemark_schemas.vocabulary import YearGroup

# The reference's own reading of dfe-rules.md 7.2 for the codes the tests draw (independent of the
# code under test: `tidemark_schemas.attendance`).
AUTHORISED = {"I", "M", "H"}
UNAUTHORISED = {"G", "O"}
POSSIBLE = {"/\\", "L", "B"} | AUTHORISED | UNAUTHORISED
"""Possible sessions: present (morning or afternoon, counted together as "/\\"), late, educated off
site, and every absence."""


def attendance_reference(
    calendar: PeriodCalendar, pupils: dict[str, PupilUpserted], marks: dict[tuple, AttendanceMarked]
) -> Counter:
    """Every session and pupil counter from scratch: per (year, window, school, year group)
    enrolment, each mark counted in its week, the period `calendar` dates it in, and the year to
    date; the sessions of each code (present morning and afternoon together) and, with a possible
    session, one pupil, and one persistent (absent >= 10%) or severe (>= 50%) absentee."""
    sessions: dict[tuple, Counter] = defaultdict(Counter)
    for (pupil_id, day, _session), mark in marks.items():
        if pupil_id not in pupils:
            continue
        ref = calendar.period_of(day)
        for window in ("YTD", ref.period, (day - date.resolution * day.weekday()).isoformat()):
            label = "/\\" if mark.code in ("/", "\\") else mark.code  # present, morning or afternoon
            sessions[(pupil_id, ref.academic_year, window, mark.school_id, mark.year_group.value)][label] += 1
    counters: Counter = Counter()
    for (pupil_id, year, window, school, year_group), codes in sessions.items():
        pupil = pupils[pupil_id]
        cell = encode_cell(Cell(YearGroup(year_group), pupil.sex, pupil.disadvantaged, pupil.sen, pupil.eal,
                                ethnic_group(pupil.ethnicity), pupil.lac))
        for code, n in codes.items():
            counters[("att-sessions", year, window, school, cell + code)] += n
        possible = sum(n for code, n in codes.items() if code in POSSIBLE)
        absent = sum(n for code, n in codes.items() if code in AUTHORISED | UNAUTHORISED)
        if possible:
            counters[("att-pupils", year, window, school, cell + "pupils")] += 1
            counters[("att-pupils", year, window, school, cell + "persistent")] += int(absent / possible >= 0.1)
            counters[("att-pupils", year, window, school, cell + "severe")] += int(absent / possible >= 0.5)
    return +counters


async def stored_attendance_counters(redis: RedisClient, keys: Keyspace) -> Counter:
    """The session and pupil counters one generation stores, keyed as `attendance_reference`'s."""
    found: Counter = Counter()
    for kind in ("att-sessions", "att-pupils"):
        async for key in redis.scan_iter(match=f"{keys.base}:{kind}:*"):
            name = key.decode() if isinstance(key, bytes) else key
            year, window, school = name[len(f"{keys.base}:{kind}:"):].split(":")
            for field, value in (await redis.hgetall(name)).items():
                found[(kind, year, window, school, field.decode() if isinstance(field, bytes) else field)] += int(value)
    return +found
