"""GET /v1/schools, /v1/calendar, /v1/progress-categories: what every page needs to draw itself."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from tidemark_gateway.domain.periods import CalendarView
from tidemark_gateway.domain.scope import School
from tidemark_gateway.domain.statutory import Category
from tidemark_gateway.entrypoints.answers import answered, not_kept
from tidemark_gateway.entrypoints.deps import AnswersDep, FiguresReader, ReferenceDep
from tidemark_runtime.auth import GuardedRoute, Permission, require

router = APIRouter(prefix="/v1", tags=["reference"], route_class=GuardedRoute)


@router.get("/schools", response_model=list[School])
async def schools(answers: AnswersDep, reference: ReferenceDep, caller: FiguresReader) -> Response:
    """The schools the caller may see, sorted by name."""
    return await answered(answers, caller, list[School], ("schools",), lambda: reference.schools(caller))


@router.get("/progress-categories", dependencies=[Depends(require(Permission.READ_FIGURES))])
async def progress_categories(reference: ReferenceDep) -> list[Category]:
    """The Levels of Progress Made, in display order, with their labels (the seven categories,
    then not_categorised)."""
    return reference.progress_categories()


@router.get("/calendar", response_model=CalendarView)
async def calendar_(answers: AnswersDep, reference: ReferenceDep, caller: FiguresReader) -> Response:
    """Academic years and periods for the period selector, and the period to open on."""
    today = reference.today()
    not_kept()  # the answer is today's: asked again tomorrow, it goes through here
    return await answered(answers, caller, CalendarView, ("calendar", today),
                          lambda: reference.calendar_view(caller, today))
