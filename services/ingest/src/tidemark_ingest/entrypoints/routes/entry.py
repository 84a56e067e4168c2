"""What was entered, read back: a school's sheet of entered results for a selection (a year group,
a class, a subject), each value with its lock state and assessment date, and what is missing; and the
information key of the statutory codes. The web UI's Entry grid reads these (through the gateway's
forward, `/ingest/...`), and so may a tracker. A sheet's query is the scope a lock of it takes, so
the grid locks what it shows. Writing stays with the tracker routes (`POST /v1/assessments`,
`/v1/statutory` and their lock and unlock), so every save and lock is the API's.

Permission: `tracker:write`, for a school in the caller's scope (whoever may write a school may read
back what was entered for it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from tidemark_ingest.domain.entry import AssessmentInfo, StatutorySheet, SummativeSheet, code_tables
from tidemark_ingest.entrypoints.deps import EntryDep, TrackerWriter
from tidemark_ingest.entrypoints.writes import writable
from tidemark_ingest.service_layer.tracker import BatchRejected
from tidemark_runtime.auth import GuardedRoute
from tidemark_schemas.records import LockScope
from tidemark_schemas.statutory import StatutoryLockScope

router = APIRouter(prefix="/v1", tags=["entry"], route_class=GuardedRoute)


def _refused(rejected: BatchRejected) -> RequestValidationError:
    """A sheet of a school or period the Trust does not have: FastAPI's own 422, locating the
    parameter (as for a malformed one), so every 422 of these routes has one shape."""
    return RequestValidationError([
        {"type": "value_error", "loc": ("query", error.field), "msg": error.reason, "input": error.value}
        for error in rejected.errors
    ])


@router.get("/entry/summative")
async def summative_sheet(
    scope: Annotated[LockScope, Query()], caller: TrackerWriter, entry: EntryDep
) -> SummativeSheet:
    """A school's summative results of one period, for a year group, a class and/or a subject (each
    optional; a class alone: its year groups): its pupils, the school's own model (or the bands), every
    entered value with its lock state (`draft`, `locked`, or `changed` since its lock), assessment date
    and version, and how many pupil x subject entries are missing. What the Entry grid reads; the same
    query locks it (`POST /v1/assessments/lock`)."""
    writable(caller, [scope.school_id])
    try:
        return await entry.summative(caller.trust_id, scope)
    except BatchRejected as rejected:
        raise _refused(rejected) from rejected


@router.get("/entry/statutory")
async def statutory_sheet(
    scope: Annotated[StatutoryLockScope, Query()], caller: TrackerWriter, entry: EntryDep
) -> StatutorySheet:
    """A school's results of one statutory assessment (`assessment` required) in one academic year,
    of a class if chosen: the pupils of the year groups that take it, every component with its codes
    and their meanings, every entered value with its lock state and assessment date, and how many
    required entries are missing. The same query locks it (`POST /v1/statutory/lock`)."""
    writable(caller, [scope.school_id])
    try:
        return await entry.statutory(caller.trust_id, scope)
    except BatchRejected as rejected:
        raise _refused(rejected) from rejected


@router.get("/entry/statutory-codes")
async def statutory_codes(caller: TrackerWriter) -> list[AssessmentInfo]:
    """Every statutory assessment's components: the codes each accepts and what each means, its mark
    and scaled score ranges (the information key, from the one code table)."""
    return code_tables()
