"""GET /v1/reports/attendance, /attendance-codes, /attendance-trend, /attendance-attainment and GET
/v1/dashboards/attendance: attendance and absence from the register marks, by every grouping and
filter of the other reports, for the caller's Trust and the schools it may see
(`Permission.READ_FIGURES`; the persistent absentees by pupil with `pupils=true` and
`Permission.READ_PUPILS`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError

from tidemark_gateway.domain.attendance import (
    AttendanceAttainmentReport,
    AttendanceCodesReport,
    AttendanceDashboard,
    AttendanceReport,
    AttendanceTrend,
    BadWindow,
    CalendarDates,
    window_of,
)
from tidemark_gateway.entrypoints.deps import FiguresReader, Period, PupilList, ServicesDep
from tidemark_gateway.entrypoints.exports import ExportableRoute
from tidemark_gateway.entrypoints.params import NOT_VISIBLE, AcademicYear, By, Filter, Measure
from tidemark_gateway.service_layer.attendance import AttendanceReports
from tidemark_runtime.auth import GuardedRoute

router = APIRouter(prefix="/v1", route_class=ExportableRoute, responses={403: {"description": NOT_VISIBLE}})
"""The reports and the dashboard: JSON, or CSV and Excel with `format` like every other report."""
dates = APIRouter(route_class=GuardedRoute)
"""The calendar's dates: reference data, JSON only (included in `router`, under its /v1)."""


async def attendance_reports(built: ServicesDep) -> AttendanceReports:
    return AttendanceReports(built.read_model, built.calendar, built.reports.small_groups)


AttendanceDep = Annotated[AttendanceReports, Depends(attendance_reports)]
IncludeReception = Annotated[bool, Query(description="Include Reception in the figures (the headline cohort is "
                                         "Years 1-6); a year_group filter decides by itself")]
Week = Annotated[date | None, Query(description="One school week, by its Monday (instead of a period)")]


def _refused(field: str, message: str, value: object) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("query", field), "msg": f"Value error, {message}",
                                    "input": value, "ctx": {"error": ValueError(message)}}])


async def attendance_window(
    built: ServicesDep, academic_year: AcademicYear,
    period: Annotated[str | None, Query(description="One of the Trust's assessment periods; without period and "
                                        "week, the year to date")] = None,
    week: Week = None,
) -> str:
    """The window asked for: a week (its Monday), a period, or the year to date."""
    if period is not None and period not in built.calendar:
        raise _refused("period", f"unknown period {period!r}; expected one of {', '.join(built.calendar.periods)}",
                       period)
    try:
        return window_of(academic_year, period, week)
    except BadWindow as error:
        raise _refused(error.field, str(error), str(week)) from error


Window = Annotated[str, Depends(attendance_window)]


@router.get("/reports/attendance", tags=["reports"])
async def attendance_report(
    reports: AttendanceDep, caller: FiguresReader, academic_year: AcademicYear, window: Window, requested: Filter,
    pupils: PupilList, by: By = "school", include_reception: IncludeReception = False,
) -> AttendanceReport:
    """Attendance, absence (authorised, unauthorised), persistent and severe absence per group, All
    Pupils pooled, beside the DfE's published figures for the year and period where there are any.
    No period and no week: the year to date. With `pupils=true`, the persistent absentees (90% or
    below) by pupil."""
    return await reports.report(caller, academic_year, window, by, include_reception, requested, pupils)


@router.get("/reports/attendance-attainment", tags=["reports"])
async def attendance_attainment(
    reports: AttendanceDep, caller: FiguresReader, academic_year: AcademicYear, period: Period, measure: Measure,
    requested: Filter,
) -> AttendanceAttainmentReport:
    """Attainment (% at or above ARE) in a period of its persistent absentees, severe absentees, the
    pupils who are not persistent absentees and those with no possible session, each pupil on
    their own attendance in the same period, and All Pupils."""
    return await reports.attainment(caller, academic_year, period, measure, requested)


@router.get("/reports/attendance-codes", tags=["reports"])
async def attendance_codes(
    reports: AttendanceDep, caller: FiguresReader, academic_year: AcademicYear, window: Window, requested: Filter,
    by: By = "school", include_reception: IncludeReception = False,
) -> AttendanceCodesReport:
    """Sessions and % of possible sessions per register code (absence by reason), per group."""
    return await reports.codes(caller, academic_year, window, by, include_reception, requested)


@router.get("/reports/attendance-trend", tags=["reports"])
async def attendance_trend(
    reports: AttendanceDep, caller: FiguresReader, academic_year: AcademicYear, requested: Filter,
    by: By = "school", include_reception: IncludeReception = False,
) -> AttendanceTrend:
    """The figures per period and per school week over the year and the two before, with the gaps
    (disadvantaged, SEN support and EHC plans against the others) per window."""
    return await reports.trend(caller, academic_year, by, include_reception, requested)


@router.get("/dashboards/attendance", tags=["dashboards"])
async def attendance_dashboard(
    reports: AttendanceDep, caller: FiguresReader, academic_year: AcademicYear, requested: Filter,
    week: Week = None, include_reception: IncludeReception = False,
) -> AttendanceDashboard:
    """This week (the latest with marks unless `week` is given), the change since last week, this
    period and the year to date with the national comparators, the gaps, and the schools ranked."""
    try:
        return await reports.dashboard(caller, academic_year, week, include_reception, requested)
    except BadWindow as error:
        raise _refused(error.field, str(error), str(week)) from error


@dates.get("/calendar/dates", tags=["reference"])
async def calendar_dates_of(reports: AttendanceDep, caller: FiguresReader, academic_year: AcademicYear) -> CalendarDates:
    """The Trust's assessment periods with their dates in an academic year (the first and last
    school day, and the days whose marks count in each), the closures and the school weeks: the
    Trust's own dates where it set them (`PUT /v1/calendar/{academic_year}` on ingest) and its
    attendance has been re-dated by them, else the English default dates (`tidemark_schemas.calendar`)."""
    return await reports.calendar_dates(caller, academic_year)


router.include_router(dates)
