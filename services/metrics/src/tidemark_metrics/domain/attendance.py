"""The attendance projection (`tidemark_runtime.projections.rules.Projection`): pure.

A register mark is the fact (pupil, date, session), version-guarded like every fact. It lands in
the part of its school week, and moves one session in the totals of its period and of its
academic year (`attendance_contributions.py` describes the parts). Each of the three parts is
counted in its own window, so a week, a period and the year to date are each read as counters,
and a batch of marks reads and writes three small fields per pupil.

The parts store only their data: the contributions (a pupil's counters in a window) follow from it
and the characteristics, so the engine recomputes the old ones instead of keeping them
(`stores_contributions = False`), which halves the state.

The projection also takes the summative results (entered, locked, unlocked; version-guarded per
subject as the attainment projection does) into the period part of their (year, period), so the
same part that knows the pupil's sessions in the period counts their attainment by attendance band
(`attendance_contributions.attainment_contributions`); a result changes only its period part.

Which period a date falls in is the Trust's calendar (the English default until a Trust sets its
dates; each generation of a Trust's keys counts by the dates it was opened with, `dated`, and a
Trust that sets its dates gets a generation rebuilt by them: `tidemark_metrics.attendance_engine`);
weeks (Monday to Friday) and academic years are fixed. A week's mark reads
the period parts that week overlaps in any calendar the projection holds, so a week that straddles
two periods finds both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tidemark_metrics.domain.attendance_contributions import (
    ABSENTEE_ITEM,
    ATTAINMENT_ITEM,
    PERIOD_PREFIX,
    RESULTS,
    WEEK_PREFIX,
    attainment_contributions,
    WeekMarks,
    enrolment,
    find_mark,
    moved,
    period_part,
    week_part,
    week_totals,
    window_contributions,
    window_of,
    with_mark,
    year_part,
)
from tidemark_metrics.domain.contributions import VERSION, stored_result
from tidemark_runtime.projections.rules import Contributions, Located
from tidemark_schemas.aggregates import Keyspace, attendance_keyspace, projection_layout, slot_of
from tidemark_schemas.attendance import ATTENDANCE_MEASURE, ENROLMENT_LABELS, Session, counted_as
from tidemark_schemas.calendar import PeriodCalendar, YearDates, academic_year_of, monday_of
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.events import AssessmentEntered, AssessmentEvent, AssessmentLocked, AssessmentUnlocked, AttendanceMarked
from tidemark_schemas.replay import FactKind

_ENROLMENT_LABELS = frozenset(ENROLMENT_LABELS)
COUNTER_KEYS_KEPT = 50_000
"""Counter key names kept per (generation, part, school): a few hundred per school and year."""


@dataclass(frozen=True, slots=True)
class Where:
    """The parts a date's mark changes, and its session's slot in the week."""

    week: str
    period: str
    year: str
    slot: int


class AttendanceProjection:
    name = "attendance"
    layout = projection_layout(rules=1)
    facts = frozenset({FactKind.CALENDARS, FactKind.PUPILS, FactKind.RESULTS, FactKind.MARKS})
    counter_kinds = ("att-sessions", "att-pupils", "att-absentees", "att-attainment")
    derived_parts: tuple[str, ...] = ()
    keeps_schools = False
    stores_contributions = False

    def __init__(self, calendar: PeriodCalendar | None = None, trust_calendars: Mapping[str, PeriodCalendar] | None = None):
        """`calendar`: the periods and dates of every Trust without its own in `trust_calendars`."""
        self.calendar = calendar or PeriodCalendar()
        self.trust_calendars = dict(trust_calendars or {})
        self._calendars = (self.calendar, *self.trust_calendars.values())
        self._where: dict[tuple[str, date, Session], Where] = {}
        self._reads: dict[str, tuple[str, ...]] = {}
        self._counter_keys: dict[tuple[Keyspace, str, str], tuple[str, str, tuple[str, str, str, str]]] = {}
        """(generation, part, school) -> the part's two counter hashes at that school, and its notice"""

    def dated(self, dates: Mapping[str, YearDates]) -> AttendanceProjection:
        """The same rules with the default calendar's periods dated by `dates` (academic year ->
        a Trust's own dates; other years keep the English default): what one generation of a
        Trust's attendance counts by (`Keyspace.dates`)."""
        if not dates:
            return self
        return AttendanceProjection(PeriodCalendar(self.calendar.periods, dates), self.trust_calendars)

    def keyspace(self, prefix: str, trust_id: str) -> Keyspace:
        return attendance_keyspace(prefix, trust_id)

    def calendar_of(self, trust_id: str) -> PeriodCalendar:
        return self.trust_calendars.get(trust_id, self.calendar)

    def where(self, trust_id: str, day: date, session: Session) -> Where:
        key = (trust_id if trust_id in self.trust_calendars else "", day, session)
        found = self._where.get(key)
        if found is None:
            year = academic_year_of(day)
            found = self._where[key] = Where(
                week_part(year, monday_of(day).isoformat()),
                period_part(year, self.calendar_of(trust_id).period_of(day).period),
                year_part(year),
                day.weekday() * 2 + (session is Session.PM),
            )
        return found

    def route(self, event: Any) -> tuple[str, str] | None:
        if isinstance(event, AttendanceMarked):
            return event.pupil_id, self.where(event.trust_id, event.date, event.session).week
        if isinstance(event, AssessmentEntered | AssessmentLocked | AssessmentUnlocked):
            return event.pupil_id, period_part(event.academic_year, event.period)
        return None

    def reads(self, part: str) -> tuple[str, ...]:
        """A week's marks move sessions in the period(s) the week overlaps and in the year; a
        result changes its period part alone."""
        if part.startswith(PERIOD_PREFIX):
            return ()
        found = self._reads.get(part)
        if found is None:
            year, monday = window_of(part)
            first = date.fromisoformat(monday)
            days = [day for day in (first + timedelta(days=n) for n in range(5)) if academic_year_of(day) == year]
            periods = sorted({calendar.period_of(day).period for calendar in self._calendars for day in days})
            found = self._reads[part] = (*(period_part(year, period) for period in periods), year_part(year))
        return found

    def fans_out(self, part: str) -> bool:
        return False

    def stored_version(self, part: str, data: Mapping[str, Any], event: AttendanceMarked | AssessmentEvent) -> int | None:
        if not isinstance(event, AttendanceMarked):
            result = ((data.get(part) or {}).get(RESULTS) or {}).get(event.subject)
            return None if result is None else result[VERSION]
        current = find_mark(data.get(part) or {}, self.where(event.trust_id, event.date, event.session).slot)
        return None if current is None else current[1]

    def apply(self, part: str, data: Mapping[str, Any], event: AttendanceMarked | AssessmentEvent) -> dict[str, Any] | None:
        if not isinstance(event, AttendanceMarked):
            stored = self.stored_version(part, data, event)
            if stored is not None and event.version <= stored:
                return None
            totals = data.get(part) or {}
            return {part: {**totals, RESULTS: {**(totals.get(RESULTS) or {}), event.subject: stored_result(event)}}}
        where = self.where(event.trust_id, event.date, event.session)
        week: WeekMarks = data.get(part) or {}
        current = find_mark(week, where.slot)
        if current is not None and event.version <= current[1]:
            return None
        mark = (event.code, event.version, enrolment(event.school_id, event.year_group.value))
        changes: dict[str, Any] = {part: with_mark(week, where.slot, mark, None if current is None else current[2])}
        old = None if current is None else (counted_as(current[0]), current[2])
        new = (counted_as(mark[0]), mark[2])
        if old != new:
            for name in (where.period, where.year):
                changes[name] = moved(data.get(name) or {}, old, new)
        return changes

    def contributions(
        self, pupil_id: str, characteristics: Characteristics | None, data: Mapping[str, Any], parts: Iterable[str]
    ) -> dict[str, Contributions]:
        prefixes: dict[tuple[str, str], str] = {}
        found: dict[str, Contributions] = {}
        for part in parts:
            totals = week_totals(data.get(part) or {}) if part.startswith(WEEK_PREFIX) else data.get(part) or {}
            counted = window_contributions(characteristics, window_of(part)[0], totals, prefixes, pupil_id)
            if part.startswith(PERIOD_PREFIX) and RESULTS in totals:
                counted.update(attainment_contributions(characteristics, slot_of(*window_of(part)), totals))
            found[part] = counted
        return found

    def encode(self, part: str, data: Any) -> Any:
        return data  # every part's data is already its JSON shape

    def decode(self, part: str, raw: Any) -> Any:
        return raw

    def locate(self, keys: Keyspace, part: str, item: str) -> Located:
        if item[0] == ATTAINMENT_ITEM:
            measure, school_id, field = item[1:].split("|", 2)
            academic_year, period = window_of(part)
            return Located(keys.attendance_attainment(academic_year, period, measure, school_id), field,
                           (academic_year, period, ATTENDANCE_MEASURE, school_id))
        if item[0] == ABSENTEE_ITEM:
            school_id, field = item[1:].split("|", 1)
            academic_year, window = window_of(part)
            return Located(keys.attendance_absentees(academic_year, window, school_id), field,
                           (academic_year, window, ATTENDANCE_MEASURE, school_id))
        school_id, field = item.split("|", 1)
        keys_of = self._counter_keys.get((keys, part, school_id))
        if keys_of is None:
            if len(self._counter_keys) >= COUNTER_KEYS_KEPT:
                self._counter_keys.clear()
            academic_year, window = window_of(part)
            keys_of = self._counter_keys[(keys, part, school_id)] = (
                keys.attendance_sessions(academic_year, window, school_id),
                keys.attendance_pupils(academic_year, window, school_id),
                (academic_year, window, ATTENDANCE_MEASURE, school_id),
            )
        sessions, pupils, notice = keys_of
        return Located(pupils if field[field.rindex("|") + 1:] in _ENROLMENT_LABELS else sessions, field, notice)

    def outputs(self, trust_id: str, pupil_id: str, part: str, before: Contributions, after: Contributions) -> list[Any]:
        return []


