"""The attendance reports and dashboard (/v1/reports/attendance*, /v1/dashboards/attendance): the
caller's scope resolved as for every report, the windows' counters read in one go, the figures
computed by `domain.attendance`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from tidemark_gateway.adapters.attendance_reader import AttendanceReader
from tidemark_gateway.adapters.redis_reader import ReadModel, Scope, resolve_filter
from tidemark_gateway.domain import attendance
from tidemark_gateway.domain.measures import stored_measures
from tidemark_gateway.service_layer.small_groups import SmallGroups
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import PupilFilter
from tidemark_schemas.attendance import YEAR_TO_DATE
from tidemark_schemas.calendar import PeriodCalendar, academic_years_up_to


@dataclass(frozen=True, slots=True)
class AttendanceReports:
    read_model: ReadModel
    calendar: PeriodCalendar
    """The Trust's periods in the English default dates; each Trust's own dates, where it set them,
    come with its attendance counters (`AttendanceReader.calendar`), since they were counted by them."""
    small_groups: SmallGroups = SmallGroups()
    today: Callable[[], date] = field(default=date.today)

    async def _scope(
        self, caller: Principal, requested: PupilFilter, include_reception: bool
    ) -> tuple[AttendanceReader, Scope, PupilFilter]:
        """The attendance reader, the caller's scope (with "last updated" the latest change of the
        attendance figures or the school directory) and the cohort's filter."""
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        attendance_reader = await AttendanceReader.of(self.read_model, caller.trust_id)
        latest = max(filter(None, (scope.directory.last_updated, attendance_reader.updated_at)), default=None)
        scope = replace(scope, directory=replace(scope.directory, last_updated=latest))
        return attendance_reader, scope, attendance.cohort(scope.pupil_filter, include_reception)

    async def report(
        self, caller: Principal, academic_year: str, window: str, by: str, include_reception: bool,
        requested: PupilFilter, with_pupils: bool = False,
    ) -> attendance.AttendanceReport:
        """The figures and, `with_pupils` (the route has checked `pupils:read`), the persistent
        absentees by pupil under the same filters and cohort."""
        reader, scope, cohort = await self._scope(caller, requested, include_reception)
        counters = await reader.windows([(academic_year, window)], scope.schools)
        report = attendance.attendance_report(
            academic_year, window, by, include_reception, counters[(academic_year, window)], cohort,
            scope.directory.school_names, scope.directory.last_updated,
            attendance.national_period(reader.calendar(self.calendar), academic_year, window, self.today()),
        )
        if not with_pupils:
            return report
        entries = await reader.absentees(academic_year, window, scope.schools)
        return replace(report, pupils=attendance.absentee_pupils(entries, cohort, scope.directory.school_names))

    async def attainment(
        self, caller: Principal, academic_year: str, period: str, measure: str, requested: PupilFilter
    ) -> attendance.AttendanceAttainmentReport:
        """Attainment in a period of its persistent and severe absentees and the rest. No cohort of
        year groups beyond the filter: the measure decides who has a result (GLD in Reception)."""
        reader, scope, _cohort = await self._scope(caller, requested, False)
        counters = await reader.attainment(academic_year, period, stored_measures(measure), scope.schools)
        return self.small_groups.marked(caller, attendance.attendance_attainment_report(
            academic_year, period, measure, counters, scope.pupil_filter, scope.directory.last_updated,
        ))

    async def codes(
        self, caller: Principal, academic_year: str, window: str, by: str, include_reception: bool,
        requested: PupilFilter,
    ) -> attendance.AttendanceCodesReport:
        reader, scope, cohort = await self._scope(caller, requested, include_reception)
        counters = await reader.windows([(academic_year, window)], scope.schools)
        return attendance.codes_report(
            academic_year, window, by, include_reception, counters[(academic_year, window)], cohort,
            scope.directory.school_names, scope.directory.last_updated,
            attendance.national_period(reader.calendar(self.calendar), academic_year, window, self.today()),
        )

    async def trend(
        self, caller: Principal, academic_year: str, by: str, include_reception: bool, requested: PupilFilter
    ) -> attendance.AttendanceTrend:
        """Every period and every school week of the year and the two before, in one read."""
        reader, scope, cohort = await self._scope(caller, requested, include_reception)
        years = academic_years_up_to(academic_year)
        calendar = reader.calendar(self.calendar)
        periods = [(year, period) for year in years for period in calendar.periods]
        weeks = [(year, week) for year in years for week in attendance.school_weeks(calendar, year)]
        counters = await reader.windows(periods + weeks, scope.schools)
        names = scope.directory.school_names

        def points(windows: list[tuple[str, str]]) -> list[attendance.TrendPoint]:
            return [attendance.trend_point(year, window, by, counters[(year, window)], cohort, names)
                    for year, window in windows]

        return attendance.AttendanceTrend(academic_year, by, include_reception, scope.directory.last_updated,
                                          points(periods), points(weeks))

    async def dashboard(
        self, caller: Principal, academic_year: str, week: date | None, include_reception: bool,
        requested: PupilFilter,
    ) -> attendance.AttendanceDashboard:
        """This week (the one asked for, else the latest with marks), last week, this week's period
        and the year to date, with the gaps, the schools ranked and the national comparators."""
        reader, scope, cohort = await self._scope(caller, requested, include_reception)
        calendar = reader.calendar(self.calendar)
        weeks = attendance.school_weeks(calendar, academic_year)
        if week is not None:
            this_week: str | None = attendance.window_of(academic_year, None, week)
        else:
            marked = await reader.weeks_with_marks(academic_year, weeks, scope.schools)
            this_week = marked[-1] if marked else None
        last_week = weeks[weeks.index(this_week) - 1] if this_week in weeks and weeks.index(this_week) > 0 else None
        period = calendar.period_of(date.fromisoformat(this_week)).period if this_week else None
        windows = [w for w in (this_week, last_week, period, YEAR_TO_DATE) if w is not None]
        counters = await reader.windows([(academic_year, w) for w in windows], scope.schools)
        today = self.today()

        def tile(window: str) -> attendance.AttendanceTile:
            compared = attendance.national_period(calendar, academic_year, window, today)
            return attendance.tile(window, counters[(academic_year, window)], cohort,
                                   attendance.national_figures(academic_year, compared))

        year_to_date = counters[(academic_year, YEAR_TO_DATE)]
        now, before = (tile(this_week) if this_week else None), (tile(last_week) if last_week else None)
        by_grouping = {grouping: attendance.tally_window(year_to_date, grouping, cohort)
                       for grouping in {g for g, _a, _b in attendance.GAP_GROUPINGS.values()}}
        return attendance.AttendanceDashboard(
            academic_year, this_week, period, include_reception, scope.directory.last_updated, now, before,
            attendance.change(now, before), tile(period) if period else None, tile(YEAR_TO_DATE),
            attendance.gaps_of(by_grouping),
            attendance.ranked_schools(year_to_date, cohort, scope.directory.school_names),
        )

    async def calendar_dates(self, caller: Principal, academic_year: str) -> attendance.CalendarDates:
        """The Trust's periods with their dates in one academic year: its own where it set them (as
        its attendance figures are counted now), else the English default."""
        reader = await AttendanceReader.of(self.read_model, caller.trust_id)
        return attendance.calendar_dates(reader.calendar(self.calendar), academic_year,
                                         "trust" if academic_year in reader.dates else "english_default")
