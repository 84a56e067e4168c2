"""GET /v1/reports/...: one report page each, for the caller's Trust and the schools it may see."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tidemark_gateway.domain.pupils import DataCompletion, PupilOverview
from tidemark_gateway.domain.reports import AttainmentOverview, AttainmentReport
from tidemark_gateway.domain.statutory import ProgressReport, StatutoryReport
from tidemark_gateway.domain.trends import GapReport, ProgressOverTime
from tidemark_gateway.entrypoints.answers import answered
from tidemark_gateway.entrypoints.deps import AnswersDep, FiguresReader, Period, PupilList, ReportsDep
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


@router.get("/attainment", response_model=AttainmentReport)
async def attainment_report(
    answers: AnswersDep, reports: ReportsDep, caller: FiguresReader, measure: Measure, by: By,
    academic_year: AcademicYear, period: Period, requested: Filter,
) -> Response:
    """% of pupils At or Above ARE per group, with the pooled All Pupils row."""
    ref = PeriodRef(academic_year, period)
    return await answered(answers, caller, AttainmentReport, ("attainment", ref, measure, by, requested),
                          lambda: reports.attainment(caller, ref, measure, by, requested))


@router.get("/attainment-overview", response_model=AttainmentOverview)
async def attainment_overview(
    answers: AnswersDep, reports: ReportsDep, caller: FiguresReader, measure: Measure, by: By,
    academic_year: AcademicYear, period: Period, requested: Filter, view: View = "simple",
) -> Response:
    """Pupils Below / At / Above ARE per group (counts and % of those assessed), All Pupils pooled;
    in the School view also per code of the schools' shared assessment model."""
    ref = PeriodRef(academic_year, period)
    return await answered(answers, caller, AttainmentOverview, ("attainment-overview", ref, measure, by, requested, view),
                          lambda: reports.attainment_overview(caller, ref, measure, by, requested, view))


@router.get("/progress-over-time", response_model=ProgressOverTime)
async def progress_over_time(
    answers: AnswersDep, reports: ReportsDep, caller: FiguresReader, academic_year: AcademicYear,
    requested: Filter, by: SeriesBy = "school", measure: SeriesMeasure = DEFAULT_SERIES_MEASURE,
) -> Response:
    """% at or above per group for every period of the year and the two before, All Pupils first."""
    return await answered(answers, caller, ProgressOverTime, ("progress-over-time", academic_year, measure, by, requested),
                          lambda: reports.progress_over_time(caller, academic_year, measure, by, requested))


@router.get("/gaps", response_model=GapReport)
async def gaps(
    answers: AnswersDep, reports: ReportsDep, caller: FiguresReader, gap: Gap, academic_year: AcademicYear,
    requested: Filter, subject: GapSubject = "rwm",
) -> Response:
    """Diminishing the Difference: both groups' %, the gap and whether it widened, per period."""
    return await answered(answers, caller, GapReport, ("gaps", academic_year, gap, subject, requested),
                          lambda: reports.gaps(caller, academic_year, gap, subject, requested))


@router.get("/pupil-overview", response_model=PupilOverview)
async def pupil_overview(
    answers: AnswersDep, reports: ReportsDep, caller: FiguresReader, academic_year: AcademicYear, period: Period,
    requested: Filter, by: By = "school",
) -> Response:
    """Pupils with at least one locked result in the period, per group, broken down by characteristic."""
    ref = PeriodRef(academic_year, period)
    return await answered(answers, caller, PupilOverview, ("pupil-overview", ref, by, requested),
                          lambda: reports.pupil_overview(caller, ref, by, requested))


@router.get("/data-completion", response_model=DataCompletion)
async def data_completion(
    answers: AnswersDep, reports: ReportsDep, caller: FiguresReader, academic_year: AcademicYear, period: Period,
    requested: SchoolFilter,
) -> Response:
    """Entered and locked results against the CURRENT roll, per school, year group and subject."""
    ref = PeriodRef(academic_year, period)
    return await answered(answers, caller, DataCompletion, ("data-completion", ref, requested),
                          lambda: reports.data_completion(caller, ref, requested))


@router.get("/statutory", response_model=StatutoryReport)
async def statutory_report(
    answers: AnswersDep, reports: ReportsDep, caller: FiguresReader, measure: StatutoryMeasure,
    academic_year: AcademicYear, requested: Filter, by: By = "school",
) -> Response:
    """One statutory measure per group (every grouping and filter), All Pupils pooled, with last year's."""
    return await answered(answers, caller, StatutoryReport, ("statutory", academic_year, measure, by, requested),
                          lambda: reports.statutory_results(caller, academic_year, measure, by, requested))


@router.get("/progress-from-statutory", response_model=ProgressReport)
async def progress_from_statutory(
    answers: AnswersDep, reports: ReportsDep, caller: FiguresReader, academic_year: AcademicYear, period: Period,
    requested: Filter, pupils: PupilList, by: By = "school", category: Category = None,
) -> Response:
    """Pupils per Level of Progress Made (prior statutory result x current combined RWM band) by
    group; with `category`, that category only (the drill-down); with `pupils=true`, its pupils."""
    ref = PeriodRef(academic_year, period)
    return await answered(answers, caller, ProgressReport,
                          ("progress-from-statutory", ref, by, category, pupils, requested),
                          lambda: reports.progress_from_statutory(caller, ref, by, category, pupils, requested))
