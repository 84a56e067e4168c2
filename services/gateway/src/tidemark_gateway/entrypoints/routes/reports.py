"""GET /v1/reports/...: one report page each, for the caller's Trust and the schools it may see."""

from __future__ import annotations

from fastapi import APIRouter

from tidemark_gateway.domain.pupils import DataCompletion, PupilOverview
from tidemark_gateway.domain.reports import AttainmentOverview, AttainmentReport
from tidemark_gateway.domain.statutory import ProgressReport, StatutoryReport
from tidemark_gateway.domain.trends import GapReport, ProgressOverTime
from tidemark_gateway.entrypoints.deps import FiguresReader, Period, PupilList, ReportsDep
from tidemark_gateway.entrypoints.exports import ExportableRoute
from tidemark_gateway.entrypoints.params import (
    DEFAULT_SERIES_MEASURE,
    NOT_VISIBLE,
    AcademicYear,
    By,
    Category,
    Filter,
    Gap,
    GapSubject,
    Measure,
    SchoolFilter,
    SeriesBy,
    SeriesMeasure,
    StatutoryMeasure,
    View,
)
from tidemark_schemas.calendar import PeriodRef

router = APIRouter(prefix="/v1/reports", tags=["reports"], route_class=ExportableRoute,
                   responses={403: {"description": NOT_VISIBLE}})


@router.get("/attainment")
async def attainment_report(
    reports: ReportsDep, caller: FiguresReader, measure: Measure, by: By, academic_year: AcademicYear,
    period: Period, requested: Filter,
) -> AttainmentReport:
    """% of pupils At or Above ARE per group, with the pooled All Pupils row."""
    return await reports.attainment(caller, PeriodRef(academic_year, period), measure, by, requested)


@router.get("/attainment-overview")
async def attainment_overview(
    reports: ReportsDep, caller: FiguresReader, measure: Measure, by: By, academic_year: AcademicYear,
    period: Period, requested: Filter, view: View = "simple",
) -> AttainmentOverview:
    """Pupils Below / At / Above ARE per group (counts and % of those assessed), All Pupils pooled;
    in the School view also per code of the schools' shared assessment model."""
    return await reports.attainment_overview(caller, PeriodRef(academic_year, period), measure, by, requested, view)


@router.get("/progress-over-time")
async def progress_over_time(
    reports: ReportsDep, caller: FiguresReader, academic_year: AcademicYear, requested: Filter,
    by: SeriesBy = "school", measure: SeriesMeasure = DEFAULT_SERIES_MEASURE,
) -> ProgressOverTime:
    """% at or above per group for every period of the year and the two before, All Pupils first."""
    return await reports.progress_over_time(caller, academic_year, measure, by, requested)


@router.get("/gaps")
async def gaps(
    reports: ReportsDep, caller: FiguresReader, gap: Gap, academic_year: AcademicYear, requested: Filter,
    subject: GapSubject = "rwm",
) -> GapReport:
    """Diminishing the Difference: both groups' %, the gap and whether it widened, per period."""
    return await reports.gaps(caller, academic_year, gap, subject, requested)


@router.get("/pupil-overview")
async def pupil_overview(
    reports: ReportsDep, caller: FiguresReader, academic_year: AcademicYear, period: Period, requested: Filter,
    by: By = "school",
) -> PupilOverview:
    """Pupils with at least one locked result in the period, per group, broken down by characteristic."""
    return await reports.pupil_overview(caller, PeriodRef(academic_year, period), by, requested)


@router.get("/data-completion")
async def data_completion(
    reports: ReportsDep, caller: FiguresReader, academic_year: AcademicYear, period: Period, requested: SchoolFilter
) -> DataCompletion:
    """Entered and locked results against the CURRENT roll, per school, year group and subject."""
    return await reports.data_completion(caller, PeriodRef(academic_year, period), requested)


@router.get("/statutory")
async def statutory_report(
    reports: ReportsDep, caller: FiguresReader, measure: StatutoryMeasure, academic_year: AcademicYear,
    requested: Filter, by: By = "school",
) -> StatutoryReport:
    """One statutory measure per group (every grouping and filter), All Pupils pooled, with last year's."""
    return await reports.statutory_results(caller, academic_year, measure, by, requested)


@router.get("/progress-from-statutory")
async def progress_from_statutory(
    reports: ReportsDep, caller: FiguresReader, academic_year: AcademicYear, period: Period, requested: Filter,
    pupils: PupilList, by: By = "school", category: Category = None,
) -> ProgressReport:
    """Pupils per Level of Progress Made (prior statutory result x current combined RWM band) by
    group; with `category`, that category only (the drill-down); with `pupils=true`, its pupils."""
    ref = PeriodRef(academic_year, period)
    return await reports.progress_from_statutory(caller, ref, by, category, pupils, requested)
