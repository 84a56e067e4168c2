"""GET /v1/schools, /v1/classes, /v1/calendar, /v1/progress-categories: what every page needs to draw itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator

from tidemark_gateway.domain.periods import CalendarView
from tidemark_gateway.domain.scope import School, SchoolClass
from tidemark_gateway.domain.statutory import Category
from tidemark_gateway.entrypoints.answers import answered, not_kept
from tidemark_gateway.entrypoints.deps import AnswersDep, FiguresReader, ReferenceDep
from tidemark_runtime.auth import GuardedRoute, Permission, require
from tidemark_schemas.records import Identifier, check_academic_year

router = APIRouter(prefix="/v1", tags=["reference"], route_class=GuardedRoute)


@router.get("/schools", response_model=list[School])
async def schools(answers: AnswersDep, reference: ReferenceDep, caller: FiguresReader) -> Response:
    """The schools the caller may see, sorted by name."""
    return await answered(answers, caller, list[School], ("schools",), lambda: reference.schools(caller))


@router.get("/classes")
async def classes(
    reference: ReferenceDep,
    caller: FiguresReader,
    request: Request,
    school_id: Annotated[Identifier | None, Query(description="Only this school's classes")] = None,
    academic_year: Annotated[str | None, Query(description="Only this academic year's classes, e.g. 2025/26"),
                             AfterValidator(lambda v: v if v is None else check_academic_year(v))] = None,
) -> list[SchoolClass]:
    """The classes of the schools the caller may see (of one school and/or academic year when asked),
    by school, year and name: the Class filter's choices, and the ids `class=` takes. A school the
    caller may not see, or one the Trust does not have, simply has no classes here."""
    if len(request.query_params.getlist("school_id")) > 1:
        raise RequestValidationError([{"type": "value_error", "loc": ("query", "school_id"),
                                       "msg": "one school at most (given more than once)", "input": None}])
    return await reference.classes(caller, school_id, academic_year)


@router.get("/progress-categories", dependencies=[Depends(require(Permission.READ_FIGURES))])
async def progress_categories(reference: ReferenceDep) -> list[Category]:
    """The Levels of Progress Made, in display order, with their labels (the seven categories,
    then not_categorised)."""
    return reference.progress_categories()


@router.get("/calendar", response_model=CalendarView)
async def calendar_(answers: AnswersDep, reference: ReferenceDep, caller: FiguresReader) -> Response:
    """Academic years and periods for the period selector, and the period to open on."""
    today = reference.today()
    current = await reference.current_period(caller, today)  # by the Trust's dates, which may change
    not_kept()  # the answer is today's, by the Trust's dates now: every request comes through here
    return await answered(answers, caller, CalendarView, ("calendar", today, current),
                          lambda: reference.calendar_view(caller, today, current))
