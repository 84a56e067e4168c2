"""Attendance reports and the Attendance Dashboard, as pure functions over the attendance
projection's counters (`docs/architecture.md`, "The attendance projection").

A window (the year to date, one period, or one week named by its Monday) has two counter hashes per
school: sessions by register code and enrolments (pupils, persistent and severe absentees). Every
figure of a group is a sum of its cells' counters turned into figures by the one rule
(`tidemark_schemas.attendance.AttendanceFigures`); All Pupils is pooled, never a mean of rows.
The headline cohort is Years 1-6; Reception only when asked (`cohort`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import Field

from tidemark_gateway.domain.counter_arrays import tally_labels
from tidemark_gateway.domain.measures import measure_label
from tidemark_gateway.domain.national import NationalComparator
from tidemark_gateway.domain.reports import ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, LastUpdated, ReportRow, ordered_groups
from tidemark_schemas.aggregates import BandCounts, PupilFilter, decode_cell_field
from tidemark_schemas.attendance import (
    CATEGORY_OF,
    PRESENT,
    REGISTER_CODES,
    YEAR_TO_DATE,
    AttendanceBand,
    AttendanceFigures,
    Category,
    cohort_year_groups,
    split_absentee_label,
    split_attainment_label,
)
from tidemark_schemas.attendance_national import (
    NationalFigure,
    NationalGroup,
    NationalPeriod,
    comparators,
    national_period_of,
    national_period_to_date,
    reasons,
)
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef, academic_year_of, monday_of, parse_academic_year
from tidemark_schemas.rules import percentage
from tidemark_schemas.vocabulary import Band

SchoolCounters = Sequence[tuple[str, Mapping[str, int]]]
"""(school_id, counter hash) pairs of one window."""


@dataclass(frozen=True, slots=True)
class WindowCounters:
    """One window's counters in the schools read: sessions by code, and enrolments."""

    sessions: SchoolCounters
    pupils: SchoolCounters


# -- the cohort and the window --------------------------------------------------------------------


def cohort(requested: PupilFilter, include_reception: bool) -> PupilFilter:
    """The pupils a figure covers: the year groups asked for (a `year_group=R` filter includes
    Reception), else Years 1-6, with Reception only when `include_reception`."""
    if requested.year_groups is not None:
        return requested
    return replace(requested, year_groups=cohort_year_groups(include_reception))


class BadWindow(ValueError):
    """A window parameter that names no window of the academic year (HTTP 422 on `field`)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def window_of(academic_year: str, period: str | None, week: date | None) -> str:
    """The counters' window: a week by its Monday, a period, or the year to date (neither given)."""
    if period is not None and week is not None:
        raise BadWindow("week", "give a period or a week, not both")
    if week is not None:
        if week.weekday() != 0:
            raise BadWindow("week", f"{week} is a {week:%A}: a week is named by its Monday")
        if academic_year_of(week) != academic_year and academic_year_of(week + timedelta(days=4)) != academic_year:
            raise BadWindow("week", f"the week of {week} is not in {academic_year}")
        return week.isoformat()
    return period if period is not None else YEAR_TO_DATE


def school_weeks(calendar: PeriodCalendar, academic_year: str) -> list[str]:
    """Every week of the academic year with a school day in the default dates, by its Monday."""
    mondays = {monday_of(day) for period in calendar.periods
               for day in calendar.school_days(PeriodRef(academic_year, period))}
    return [monday.isoformat() for monday in sorted(mondays)]


@dataclass(frozen=True, slots=True)
class PeriodDates:
    period: str
    first_school_day: date
    last_school_day: date
    covers_from: Annotated[date, Field(description="The first day whose marks count in the period (the day after "
                                       "the previous period's last school day; 1 September for the first)")]
    covers_to: Annotated[date, Field(description="The last day whose marks count in it (31 August for the last)")]


@dataclass(frozen=True, slots=True)
class CalendarDates:
    academic_year: str
    source: Annotated[Literal["trust", "english_default"], Field(
        description="Whose dates: `trust`, the Trust's own (set on ingest, `PUT /v1/calendar/{academic_year}`), as "
        "its attendance figures are counted now; `english_default` until it sets them")]
    periods: list[PeriodDates]
    closures: Annotated[list[date], Field(description="Weekdays in term time when schools are closed (bank holidays)")]
    weeks: Annotated[list[str], Field(description="The school weeks (their Mondays)")]


def calendar_dates(
    calendar: PeriodCalendar, academic_year: str, source: Literal["trust", "english_default"] = "english_default"
) -> CalendarDates:
    """The Trust's periods with their dates in one academic year, and its school weeks."""
    periods = []
    for period in calendar.periods:
        ref = PeriodRef(academic_year, period)
        term, (start, end) = calendar.term_time(ref), calendar.span(ref)
        periods.append(PeriodDates(period, term.first_day, term.last_day, start, end))
    return CalendarDates(academic_year, source, periods,
                         sorted(calendar.dates(academic_year).closures), school_weeks(calendar, academic_year))


# -- figures --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    """One group's attendance figures in a window (session-weighted, unrounded; null without a
    possible session or a pupil)."""

    group: Annotated[str, Field(description="Group id: the school id for by=school, else the grouping's value")]
    label: str
    pupils: Annotated[int, Field(description="Enrolments with a possible session in the window")]
    possible_sessions: int
    attendance_pct: float | None
    absence_pct: Annotated[float | None, Field(description="Authorised and unauthorised absence, % of possible sessions")]
    authorised_absence_pct: float | None
    unauthorised_absence_pct: float | None
    persistent_absentees: Annotated[int, Field(description="Pupils who missed 10% or more of their own possible sessions")]
    persistent_absence_pct: Annotated[float | None, Field(description="% of pupils")]
    severe_absentees: Annotated[int, Field(description="Pupils who missed 50% or more of their own possible sessions")]
    severe_absence_pct: Annotated[float | None, Field(description="% of pupils")]

    @classmethod
    def of(cls, group: str, label: str, sessions: Mapping[str, int], enrolments: Mapping[str, int]) -> AttendanceRow:
        figures = AttendanceFigures.of(sessions, enrolments)
        return cls(
            group, label, figures.pupils, figures.possible_sessions, figures.attendance_pct, figures.absence_pct,
            figures.authorised_absence_pct, figures.unauthorised_absence_pct, figures.persistent_absentees,
            figures.persistent_absence_pct, figures.severe_absentees, figures.severe_absence_pct,
        )


@dataclass(frozen=True, slots=True)
class Tallied:
    """A window's sessions by code and enrolments, pooled and per group."""

    sessions: Counter[str]
    pupils: Counter[str]
    group_sessions: dict[str, Counter[str]]
    group_pupils: dict[str, Counter[str]]

    def all_pupils(self) -> AttendanceRow:
        return AttendanceRow.of(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, self.sessions, self.pupils)

    def groups(self) -> set[str]:
        return set(self.group_sessions) | set(self.group_pupils)

    def row(self, group: str, label: str) -> AttendanceRow:
        return AttendanceRow.of(group, label, self.group_sessions.get(group, Counter()),
                                self.group_pupils.get(group, Counter()))


def tally_window(counters: WindowCounters, by: str | None, pupil_filter: PupilFilter) -> Tallied:
    sessions = tally_labels(counters.sessions, by, pupil_filter)
    pupils = tally_labels(counters.pupils, by, pupil_filter)
    return Tallied(sessions.all_pupils, pupils.all_pupils, dict(sessions.groups), dict(pupils.groups))


def group_rows(tallied: Tallied, by: str, school_names: Mapping[str, str], schools: frozenset[str]) -> list[AttendanceRow]:
    return [tallied.row(group, label) for group, label in ordered_groups(by, tallied.groups(), school_names, schools)]


# -- national comparators -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class National(NationalComparator):
    """A published national attendance figure: which census period and phase it is for."""

    period: NationalPeriod
    phase: str

    @classmethod
    def of(cls, figure: NationalFigure) -> National:
        return cls(figure.value, figure.academic_year, figure.source, figure.note, figure.period, figure.phase.value)


NationalFigures = dict[str, National]
"""Measure (absence_pct, authorised_absence_pct, unauthorised_absence_pct, persistent_absence_pct) -> figure."""

_NATIONAL_GROUPS: dict[str, dict[str, NationalGroup]] = {
    "disadvantaged": {"disadvantaged": NationalGroup.FSM, "not_disadvantaged": NationalGroup.NOT_FSM},
    "sen": {"E": NationalGroup.SEN_EHC_PLAN, "K": NationalGroup.SEN_SUPPORT, "N": NationalGroup.NO_SEN},
}
"""The groups DfE publishes figures for, by our grouping (FSM compared with disadvantaged: with care)."""


def national_period(calendar: PeriodCalendar, academic_year: str, window: str, today: date) -> NationalPeriod | None:
    """The published period a window compares with: a period's (or a week's period's) term, or for
    the year to date the terms up to today's period (the full year for a year gone by)."""
    if window == YEAR_TO_DATE:
        if parse_academic_year(academic_year) < parse_academic_year(academic_year_of(today)):
            return NationalPeriod.FULL_YEAR
        return national_period_to_date(calendar.period_of(today).period)
    if window in calendar:
        return national_period_of(window)
    return national_period_of(calendar.period_of(date.fromisoformat(window)).period)


def national_figures(academic_year: str, period: NationalPeriod | None, group: NationalGroup | None = None) -> NationalFigures | None:
    """The published figures for one year, period and group; None when there is none."""
    found = {measure.value: National.of(figure) for measure, figure in comparators(academic_year, period, group).items()
             if figure is not None}
    return found or None


# -- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupNational:
    group: str
    national: NationalFigures


@dataclass(frozen=True, slots=True)
class AttendanceReport:
    academic_year: str
    window: Annotated[str, Field(description="YTD (the year to date), a period (AUT1...), or a week by its Monday")]
    by: str
    include_reception: bool
    last_updated: LastUpdated
    rows: Annotated[list[AttendanceRow], Field(description="One per group; by school every school in scope")]
    all_pupils: Annotated[AttendanceRow, Field(description="Pooled over every pupil in scope (sums, not a mean of rows)")]
    national: Annotated[NationalFigures | None, Field(
        description="The DfE's published figures for this year and period (primary where published, else all "
        "schools), with source; null where none is published")]
    national_by_group: Annotated[list[GroupNational], Field(
        description="Published figures for the rows' groups (by=disadvantaged: FSM; by=sen), where given")]
    pupils: Annotated[list[AbsenteePupil] | None, Field(
        description="With pupils=true: the persistent absentees of the window (attendance 90% or below: missed 10% "
        "or more of their own possible sessions), each enrolment on its own sessions, lowest attendance first; "
        "same filters and cohort as the figures")] = None


def attendance_report(
    academic_year: str, window: str, by: str, include_reception: bool, counters: WindowCounters,
    pupil_filter: PupilFilter, school_names: Mapping[str, str], last_updated: str | None,
    compared_with: NationalPeriod | None,
) -> AttendanceReport:
    """`pupil_filter` is the cohort's (`cohort`) with `schools` the schools in scope."""
    tallied = tally_window(counters, by, pupil_filter)
    schools = pupil_filter.schools or frozenset()
    by_group = [
        GroupNational(group, found) for group, national_group in _NATIONAL_GROUPS.get(by, {}).items()
        if (found := national_figures(academic_year, compared_with, national_group)) is not None
    ]
    return AttendanceReport(
        academic_year, window, by, include_reception, last_updated, group_rows(tallied, by, school_names, schools),
        tallied.all_pupils(), national_figures(academic_year, compared_with), by_group,
    )


# -- by register code -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeSessions:
    code: Annotated[str, Field(description="A register code; `/\\` is present, morning and afternoon together")]
    meaning: str
    category: Category
    sessions: int
    pct_of_possible: Annotated[float | None, Field(description="Sessions as a % of possible sessions (absence by "
                                                   "reason for an absence code)")]
    national_pct: Annotated[float | None, Field(description="The DfE's published rate for this reason, where given")]


@dataclass(frozen=True, slots=True)
class CodesRow:
    group: str
    label: str
    possible_sessions: int
    codes: list[CodeSessions]


@dataclass(frozen=True, slots=True)
class AttendanceCodesReport:
    academic_year: str
    window: str
    by: str
    include_reception: bool
    last_updated: LastUpdated
    rows: list[CodesRow]
    all_pupils: CodesRow


_CODE_ORDER = {code: position for position, code in enumerate((PRESENT, *REGISTER_CODES))}


def _codes_row(group: str, label: str, sessions: Mapping[str, int], national: Mapping[str, NationalFigure]) -> CodesRow:
    figures = AttendanceFigures.of(sessions, {})
    codes = [
        CodeSessions(code, "present" if code == PRESENT else REGISTER_CODES[code].meaning, CATEGORY_OF[code], n,
                     figures.reason_pct(n), national[code].value if code in national else None)
        for code, n in sorted(sessions.items(), key=lambda item: _CODE_ORDER.get(item[0], len(_CODE_ORDER)))
        if n and code in CATEGORY_OF
    ]
    return CodesRow(group, label, figures.possible_sessions, codes)


def codes_report(
    academic_year: str, window: str, by: str, include_reception: bool, counters: WindowCounters,
    pupil_filter: PupilFilter, school_names: Mapping[str, str], last_updated: str | None,
    compared_with: NationalPeriod | None,
) -> AttendanceCodesReport:
    """Sessions and % of possible sessions per register code, per group and pooled."""
    tallied = tally_window(counters, by, pupil_filter)
    national = reasons(academic_year, compared_with)
    schools = pupil_filter.schools or frozenset()
    rows = [_codes_row(group, label, tallied.group_sessions.get(group, Counter()), national)
            for group, label in ordered_groups(by, tallied.groups(), school_names, schools)]
    return AttendanceCodesReport(academic_year, window, by, include_reception, last_updated, rows,
                                 _codes_row(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, tallied.sessions, national))


# -- trend and gaps -------------------------------------------------------------------------------

GAP_GROUPINGS: dict[str, tuple[str, str, str]] = {
    "disadvantaged": ("disadvantaged", "disadvantaged", "not_disadvantaged"),
    "sen": ("sen", "K", "N"),
    "sen_ehc_plan": ("sen", "E", "N"),
}
"""Gap -> (grouping, the group, the group it is compared with): disadvantaged pupils against the
others, SEN support and EHC plans each against pupils without SEN."""


@dataclass(frozen=True, slots=True)
class Gap:
    gap: Annotated[str, Field(description="disadvantaged, sen (SEN support vs no SEN) or sen_ehc_plan (EHC plan vs no SEN)")]
    absence_pct: Annotated[float | None, Field(description="The group's absence % less the other's (points)")]
    persistent_absence_pct: Annotated[float | None, Field(description="The group's persistent absence % less the other's")]


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def gaps_of(by_grouping: Mapping[str, Tallied]) -> list[Gap]:
    """Each gap from the tallies by its grouping (`GAP_GROUPINGS`)."""
    found = []
    for gap, (grouping, group, other) in GAP_GROUPINGS.items():
        tallied = by_grouping[grouping]
        mine, theirs = tallied.row(group, group), tallied.row(other, other)
        found.append(Gap(gap, _difference(mine.absence_pct, theirs.absence_pct),
                         _difference(mine.persistent_absence_pct, theirs.persistent_absence_pct)))
    return found


@dataclass(frozen=True, slots=True)
class TrendPoint:
    academic_year: str
    window: Annotated[str, Field(description="A period, or a week by its Monday")]
    all_pupils: AttendanceRow
    rows: list[AttendanceRow]
    gaps: list[Gap]


@dataclass(frozen=True, slots=True)
class AttendanceTrend:
    academic_year: str
    by: str
    include_reception: bool
    last_updated: LastUpdated
    periods: Annotated[list[TrendPoint], Field(description="Every period of the year and the two before, oldest first")]
    weeks: Annotated[list[TrendPoint], Field(description="Every school week of the three years, oldest first")]


def trend_point(
    academic_year: str, window: str, by: str, counters: WindowCounters, pupil_filter: PupilFilter,
    school_names: Mapping[str, str],
) -> TrendPoint:
    tallied = tally_window(counters, by, pupil_filter)
    by_grouping = {grouping: tally_window(counters, grouping, pupil_filter)
                   for grouping in {g for g, _a, _b in GAP_GROUPINGS.values()}}
    rows = group_rows(tallied, by, school_names, pupil_filter.schools or frozenset())
    return TrendPoint(academic_year, window, tallied.all_pupils(), rows, gaps_of(by_grouping))


# -- the dashboard --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttendanceTile:
    """Pooled figures of one window, with the national comparators where published."""

    window: str
    figures: AttendanceRow
    national: NationalFigures | None


@dataclass(frozen=True, slots=True)
class AttendanceDashboard:
    academic_year: str
    week: Annotated[str | None, Field(description="This week (its Monday): the latest school week with marks")]
    period: Annotated[str | None, Field(description="This week's period")]
    include_reception: bool
    last_updated: LastUpdated
    this_week: AttendanceTile | None
    last_week: AttendanceTile | None
    change_since_last_week: Annotated[float | None, Field(description="Attendance % this week less last week's (points)")]
    this_period: AttendanceTile | None
    year_to_date: AttendanceTile
    gaps: Annotated[list[Gap], Field(description="Year to date")]
    schools: Annotated[list[AttendanceRow], Field(description="Schools in scope ranked by year-to-date attendance, "
                                                 "highest first (schools without marks last)")]


def tile(window: str, counters: WindowCounters, pupil_filter: PupilFilter, national: NationalFigures | None) -> AttendanceTile:
    tallied = tally_window(counters, None, pupil_filter)
    return AttendanceTile(window, tallied.all_pupils(), national)


def ranked_schools(counters: WindowCounters, pupil_filter: PupilFilter, school_names: Mapping[str, str]) -> list[AttendanceRow]:
    rows = group_rows(tally_window(counters, "school", pupil_filter), "school", school_names,
                      pupil_filter.schools or frozenset())
    return sorted(rows, key=lambda row: (row.attendance_pct is None, -(row.attendance_pct or 0.0), row.label.casefold()))


def change(now: AttendanceTile | None, before: AttendanceTile | None) -> float | None:
    if now is None or before is None:
        return None
    return _difference(now.figures.attendance_pct, before.figures.attendance_pct)



# -- the pupils of the attendance report ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AbsenteePupil:
    """A persistent absentee enrolment of the window (current characteristics, the marks' year group)."""

    pupil_id: str
    school_id: str
    school: str
    year_group: str
    sex: str
    disadvantaged: bool
    sen: str
    eal: bool
    ethnic_group: str
    lac: bool
    possible_sessions: int
    absent_sessions: int
    attendance_pct: Annotated[float, Field(description="Unrounded % of the enrolment's own possible sessions attended")]
    severe: Annotated[bool, Field(description="Missed 50% or more of its possible sessions")]


def absentee_pupils(
    entries: Sequence[tuple[str, str]], pupil_filter: PupilFilter, school_names: Mapping[str, str]
) -> list[AbsenteePupil]:
    """The pupil-list entries ("pupil_id|cell|absent:possible" per school) the filter admits,
    lowest attendance first."""
    found = []
    for school, entry in entries:
        pupil_id, rest = entry.split("|", 1)
        cell, label = decode_cell_field(rest)
        if not pupil_filter.admits(school, cell):
            continue
        absent, possible = split_absentee_label(label)
        found.append(AbsenteePupil(
            pupil_id, school, school_names.get(school, school), cell.year_group.value, cell.sex.value,
            cell.disadvantaged, cell.sen.value, cell.eal, cell.ethnic_group.name, cell.lac, possible, absent,
            percentage(possible - absent, possible) or 0.0, absent * 2 >= possible,
        ))
    return sorted(found, key=lambda p: (p.attendance_pct, p.school.casefold(), p.year_group, p.pupil_id))


# -- attainment beside attendance ------------------------------------------------------------------

ATTENDANCE_GROUPS: tuple[tuple[str, str, frozenset[AttendanceBand]], ...] = (
    ("persistent", "Persistent absentees (missed 10% or more)",
     frozenset({AttendanceBand.PERSISTENT, AttendanceBand.SEVERE})),
    ("severe", "Severe absentees (missed 50% or more)", frozenset({AttendanceBand.SEVERE})),
    ("not_persistent", "Not persistent absentees (missed less than 10%)", frozenset({AttendanceBand.REGULAR})),
    ("unrecorded", "No possible session recorded in the period", frozenset({AttendanceBand.UNRECORDED})),
)
"""The rows of the attendance-attainment report: (group, label, the pupils' attendance bands in the
period). Severe absentees are also persistent ones, as the DfE counts them; not persistent and
unrecorded together are the rest, and with the persistent ones make All Pupils."""


@dataclass(frozen=True, slots=True)
class AttendanceAttainmentReport:
    academic_year: str
    period: str
    measure: str
    label: Annotated[str, Field(description="The measure's name")]
    last_updated: LastUpdated
    rows: Annotated[list[ReportRow], Field(
        description="Attainment of the persistent absentees, the severe absentees, the pupils who are not persistent "
        "absentees, and those with no possible session in the period; each pupil's attendance is over their own "
        "sessions in the period at every school")]
    all_pupils: Annotated[ReportRow, Field(
        description='group "all": every pupil with a result, the same figure as the attainment report\'s All Pupils')]


def attendance_attainment_report(
    academic_year: str, period: str, measure: str, counters: SchoolCounters, pupil_filter: PupilFilter,
    last_updated: str | None,
) -> AttendanceAttainmentReport:
    """Sums of the attendance-attainment counters (pupils per attendance band and result band) the
    filter admits, per row of `ATTENDANCE_GROUPS`."""
    by_band: dict[AttendanceBand, BandCounts] = {band: BandCounts() for band in AttendanceBand}
    for label, pupils in tally_labels(counters, None, pupil_filter).all_pupils.items():
        attendance, attainment = split_attainment_label(label)
        by_band[attendance].add(Band(attainment), pupils)

    def pooled(bands: frozenset[AttendanceBand]) -> BandCounts:
        return BandCounts(*(sum(getattr(by_band[band], name) for band in bands) for name in ("below", "at", "above")))

    rows = [ReportRow.of(group, label, pooled(bands)) for group, label, bands in ATTENDANCE_GROUPS]
    return AttendanceAttainmentReport(
        academic_year, period, measure, measure_label(measure), last_updated, rows,
        ReportRow.of(ALL_PUPILS_GROUP, ALL_PUPILS_LABEL, pooled(frozenset(AttendanceBand))),
    )
