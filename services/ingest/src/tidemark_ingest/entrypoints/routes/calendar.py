"""A Trust's own school dates: PUT /v1/calendar/{academic_year} sets one academic year's half-terms
and closures (`calendar:write`, a `trust_admin`), GET reads them (the Trust's own, else the English
default; `figures:read`). Setting dates is recorded in the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import AfterValidator

from tidemark_identity.domain.audit import Action
from tidemark_ingest.domain.calendar import CalendarSet, TrustCalendar
from tidemark_ingest.entrypoints.deps import CalendarReader, CalendarWriter, CalendarsDep, ServicesDep
from tidemark_ingest.entrypoints.errors import BATCH_REFUSED
from tidemark_ingest.service_layer.tracker import BatchRejected
from tidemark_runtime.auth import GuardedRoute
from tidemark_runtime.http import refusal
from tidemark_schemas.calendar import ACADEMIC_YEAR_PATTERN
from tidemark_schemas.records import CalendarRecord, check_academic_year

AcademicYear = Annotated[
    str,
    Path(description="The academic year, e.g. 2025/26 (its slash as it is, or as %2F); from 2000/01 to the year "
         "after the current one", examples=["2025/26"], json_schema_extra={"pattern": ACADEMIC_YEAR_PATTERN.pattern}),
    AfterValidator(check_academic_year),
]

router = APIRouter(
    prefix="/v1", tags=["calendar"], route_class=GuardedRoute,
    responses={400: refusal("The body could not be read as JSON text (it is not UTF-8)")},
)


@router.put("/calendar/{academic_year:path}", responses=BATCH_REFUSED)
async def put_calendar(
    academic_year: AcademicYear, dates: CalendarRecord, caller: CalendarWriter, calendars: CalendarsDep,
    built: ServicesDep, request: Request,
) -> CalendarSet:
    """Set the Trust's school dates of one academic year: each half-term's first and last school day
    (weekdays, in order, within 1 September to 31 August, none overlapping the next) and the
    weekdays in term time when its schools are closed. Refused whole (422 naming each field and
    reason) otherwise. The same dates again change nothing (`changed: false`, no event). From then
    on the Trust's register marks fall in its own periods, and the figures already counted are
    re-dated (a rebuild of the Trust's attendance; the reports show the new dates once it is done)."""
    try:
        answer = await calendars.set(caller.trust_id, academic_year, dates)
    except BatchRejected as rejected:
        await built.identity.record(caller, Action.CALENDAR, request=request.url.path, academic_year=academic_year,
                                    accepted=False, errors=len(rejected.errors))
        raise
    await built.identity.record(caller, Action.CALENDAR, request=request.url.path, academic_year=academic_year,
                                accepted=True, changed=answer.changed)
    return answer


@router.get("/calendar/{academic_year:path}")
async def get_calendar(academic_year: AcademicYear, caller: CalendarReader, calendars: CalendarsDep) -> TrustCalendar:
    """The Trust's school dates of one academic year: its own (`source: trust`) or, until it sets
    them, the English default (`source: english_default`)."""
    return await calendars.get(caller.trust_id, academic_year)
