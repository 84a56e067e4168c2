"""What a school's register sends: POST /v1/attendance, register marks (a day's, a week's, or a
year's back-fill in batches of MAX_BATCH_ROWS). Needs `tracker:write` and writes the caller's Trust
(a school-scoped key: only its schools); every batch is recorded in the audit trail."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tidemark_ingest.entrypoints.deps import AttendanceDep, ServicesDep, TrackerWriter
from tidemark_ingest.entrypoints.errors import BATCH_REFUSED
from tidemark_ingest.entrypoints.writes import audited_batch
from tidemark_ingest.service_layer.tracker import BatchAccepted
from tidemark_runtime.auth import GuardedRoute
from tidemark_runtime.http import refusal
from tidemark_schemas.records import AttendanceRecord, Batch

router = APIRouter(
    prefix="/v1", tags=["attendance"], route_class=GuardedRoute,
    responses={
        **BATCH_REFUSED,
        400: refusal("The body could not be read as JSON text (it is not UTF-8)"),
        413: refusal("The body is larger than MAX_BODY_BYTES (refused as it is read, before authentication)"),
    },
)


@router.post("/attendance")
async def post_attendance(
    records: Batch[AttendanceRecord], caller: TrackerWriter, attendance: AttendanceDep, built: ServicesDep,
    request: Request,
) -> BatchAccepted:
    """Register marks: `{pupil_id, school_id, date, session (AM/PM), code}` per row. A later mark for
    the same pupil, date and session replaces the earlier one (a correction); re-sending a mark
    changes nothing. Refused whole (422 naming each row and field) for an unknown code or one not in
    force on the date, a weekend, a date outside the academic years held, an unknown pupil or
    school, a pupil not on roll that day, or the same session twice."""
    return await audited_batch(built, caller, request, attendance.mark, records)
