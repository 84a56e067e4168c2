"""GET /v1/schools, /v1/calendar, /v1/progress-categories: what every page needs to draw itself."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from tidemark_gateway.domain.periods import CalendarView
from tidemark_gateway.domain.scope import School
from tidemark_gateway.domain.statutory import Category
from tidemark_gateway.entrypoints.deps import FiguresReader, ReferenceDep
from tidemark_runtime.auth import GuardedRoute, Permission, require

router = APIRouter(prefix="/v1", tags=["reference"], route_class=GuardedRoute)


@router.get("/schools")
async def schools(reference: ReferenceDep, caller: FiguresReader) -> list[School]:
    """The schools the caller may see, sorted by name."""
    return await reference.schools(caller)


@router.get("/progress-categories", dependencies=[Depends(require(Permission.READ_FIGURES))])
async def progress_categories(reference: ReferenceDep) -> list[Category]:
    """The Levels of Progress Made, in display order, with their labels (the seven categories,
    then not_categorised)."""
    return reference.progress_categories()


@router.get("/calendar")
async def calendar_(reference: ReferenceDep, caller: FiguresReader) -> CalendarView:
    """Academic years and periods for the period selector, and the period to open on."""
    return await reference.calendar_view(caller)
