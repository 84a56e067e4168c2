"""What a school tracker sends: POST /v1/schools, /v1/classes, /v1/pupils, /v1/assessments (and their lock and
unlock), /v1/statutory (and its lock and unlock). Each needs `tracker:write` and writes the caller's
Trust; a batch is at most MAX_BATCH_ROWS rows, validated whole. Every batch, lock and unlock is
recorded in the audit trail (who, how many rows, accepted or rejected), and the events of a lock or
unlock carry the actor's id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import APIRouter, Request

from tidemark_identity.domain.audit import Action
from tidemark_ingest.entrypoints.deps import ServicesDep, TrackerDep, TrackerWriter
from tidemark_ingest.entrypoints.errors import BATCH_REFUSED
from tidemark_ingest.entrypoints.writes import audited, audited_batch, writable
from tidemark_ingest.service_layer.tracker import BatchAccepted
from tidemark_runtime.auth import GuardedRoute
from tidemark_runtime.http import refusal
from tidemark_runtime.principal import Principal
from tidemark_schemas.records import AssessmentRecord, Batch, ClassRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryRecord

router = APIRouter(
    prefix="/v1",
    tags=["tracker"],
    route_class=GuardedRoute,
    responses={
        **BATCH_REFUSED,
        400: refusal("The body could not be read as JSON text (it is not UTF-8)"),
        413: refusal("The body is larger than MAX_BODY_BYTES (refused as it is read, before authentication)"),
    },
)


@router.post("/schools")
async def post_schools(
    records: Batch[SchoolRecord],
    caller: TrackerWriter,
    tracker: TrackerDep,
    built: ServicesDep,
    request: Request,
) -> BatchAccepted:
    """Create or rename schools of the caller's Trust."""
    return await audited_batch(built, caller, request, tracker.post_schools, records)


@router.post("/classes")
async def post_classes(
    records: Batch[ClassRecord],
    caller: TrackerWriter,
    tracker: TrackerDep,
    built: ServicesDep,
    request: Request,
) -> BatchAccepted:
    """Create or change classes: a class of one school in one academic year, with the year group(s) it
    teaches. A class keeps its school and year (another year's class is another class, with its own
    id). Pupils join a class with `class_id` on `POST /v1/pupils`."""
    return await audited_batch(built, caller, request, tracker.post_classes, records)


@router.post("/pupils")
async def post_pupils(
    records: Batch[PupilRecord],
    caller: TrackerWriter,
    tracker: TrackerDep,
    built: ServicesDep,
    request: Request,
) -> BatchAccepted:
    """Create or update pupils (current characteristics; `left_on` marks a leaver; `class_id` puts the
    pupil in a class in that class's academic year, keeping their classes of other years)."""
    return await audited_batch(built, caller, request, tracker.post_pupils, records)


@router.post("/assessments")
async def post_assessments(
    records: Batch[AssessmentRecord],
    caller: TrackerWriter,
    tracker: TrackerDep,
    built: ServicesDep,
    request: Request,
) -> BatchAccepted:
    """Enter (draft) summative results. Drafts count in no attainment figure until locked."""
    return await audited_batch(built, caller, request, tracker.enter_assessments, records)


@router.post("/assessments/lock")
async def lock(
    scope: LockScope, caller: TrackerWriter, tracker: TrackerDep, built: ServicesDep, request: Request
) -> BatchAccepted:
    """Lock a school's period (optionally one year group, class and/or subject: the scope the entry
    sheet of the same query shows): entered results now count. Locking again after a changed entry
    is a correction; the new value replaces the old."""
    return await _change_lock(built, caller, request, Action.LOCK, tracker.lock, scope)


@router.post("/assessments/unlock")
async def unlock(
    scope: LockScope, caller: TrackerWriter, tracker: TrackerDep, built: ServicesDep, request: Request
) -> BatchAccepted:
    """Unlock: the results stop counting until they are locked again."""
    return await _change_lock(built, caller, request, Action.UNLOCK, tracker.unlock, scope)


@router.post("/statutory")
async def post_statutory(
    records: Batch[StatutoryRecord],
    caller: TrackerWriter,
    tracker: TrackerDep,
    built: ServicesDep,
    request: Request,
) -> BatchAccepted:
    """Enter (draft) statutory results: one component of one assessment per row, with a raw mark,
    a scaled score and/or a code of that component (`tidemark_schemas.statutory.COMPONENTS`).
    KS2 code `T` is stored as `U`. Drafts count in no statutory measure until locked."""
    return await audited_batch(built, caller, request, tracker.enter_statutory, records)


@router.post("/statutory/lock")
async def lock_statutory(
    scope: StatutoryLockScope, caller: TrackerWriter, tracker: TrackerDep, built: ServicesDep, request: Request
) -> BatchAccepted:
    """Lock a school's statutory results of an academic year (optionally one assessment and/or
    class): entered values now count. Locking again after a changed entry is a correction."""
    return await _change_lock(built, caller, request, Action.LOCK, tracker.lock_statutory, scope)


@router.post("/statutory/unlock")
async def unlock_statutory(
    scope: StatutoryLockScope, caller: TrackerWriter, tracker: TrackerDep, built: ServicesDep, request: Request
) -> BatchAccepted:
    """Unlock: the statutory results stop counting until they are locked again."""
    return await _change_lock(built, caller, request, Action.UNLOCK, tracker.unlock_statutory, scope)


Scope = TypeVar("Scope", LockScope, StatutoryLockScope)


async def _change_lock(
    built: ServicesDep,
    caller: Principal,
    request: Request,
    action: Action,
    use_case: Callable[[str, Scope, str | None], Awaitable[BatchAccepted]],
    scope: Scope,
) -> BatchAccepted:
    """What every lock and unlock does: the caller must write the school, the change runs as the
    caller (its events carry the actor), and the audit trail records what was locked or unlocked."""
    writable(caller, [scope.school_id])
    return await audited(
        built,
        caller,
        request,
        action,
        use_case(caller.trust_id, scope, caller.actor_id),
        scope.school_id,
        **scope.model_dump(mode="json", exclude={"school_id"}),
    )
