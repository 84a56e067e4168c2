"""GET /v1/dashboards/...: the Summative and the Statutory Dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tidemark_gateway.domain.dashboard import SummativeDashboard
from tidemark_gateway.domain.statutory import StatutoryDashboard
from tidemark_gateway.entrypoints.answers import answered
from tidemark_gateway.entrypoints.deps import AnswersDep, DashboardsDep, FiguresReader, Period
from tidemark_gateway.entrypoints.exports import ExportableRoute
from tidemark_gateway.entrypoints.params import NOT_VISIBLE, AcademicYear, Filter
from tidemark_schemas.calendar import PeriodRef

router = APIRouter(prefix="/v1/dashboards", tags=["dashboards"], route_class=ExportableRoute,
                   responses={403: {"description": NOT_VISIBLE}})


@router.get("/summative", response_model=SummativeDashboard)
async def summative_dashboard(
    answers: AnswersDep, dashboards: DashboardsDep, caller: FiguresReader, academic_year: AcademicYear,
    period: Period, requested: Filter,
) -> Response:
    """Primary Subjects Overview (reading, writing, maths, RWM) and EYFS Subjects Overview (GLD, All
    Goals) with the change since the previous period (the period before the first of a year is the
    last of the year before); the gender and disadvantaged gaps; Progress Over Time (gld_rwm)."""
    ref = PeriodRef(academic_year, period)
    return await answered(answers, caller, SummativeDashboard, ("summative", ref, requested),
                          lambda: dashboards.summative(caller, ref, requested))


@router.get("/statutory", response_model=StatutoryDashboard)
async def statutory_dashboard(
    answers: AnswersDep, dashboards: DashboardsDep, caller: FiguresReader, academic_year: AcademicYear,
    requested: Filter,
) -> Response:
    """The Statutory Dashboard: KS2 (the widget in full), KS1, EYFS, phonics and MTC headline
    measures for the academic year, pooled over the schools in scope, each with last year's
    figures and the change. Leavers are excluded."""
    return await answered(answers, caller, StatutoryDashboard, ("statutory-dashboard", academic_year, requested),
                          lambda: dashboards.statutory(caller, academic_year, requested))
