"""GET /v1/audit: the Trust's audit trail, newest first, for a `trust_admin` (`audit:read`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tidemark_gateway.entrypoints.accounts import ACCOUNT_RESPONSES, AuditLine, IdentityDep
from tidemark_identity.domain.audit import Action
from tidemark_runtime.auth import GuardedRoute, Permission, require
from tidemark_runtime.principal import Principal

router = APIRouter(
    prefix="/v1", tags=["administration"], route_class=GuardedRoute, responses=ACCOUNT_RESPONSES
)


class AuditPage(BaseModel):
    entries: list[AuditLine]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last"
    )


@router.get("/audit")
async def audit(
    caller: Annotated[Principal, Depends(require(Permission.READ_AUDIT))],
    identity: IdentityDep,
    actor: Annotated[str | None, Query(max_length=200, description="`user:<id>`, `key:<id>`, ...")] = None,
    action: Annotated[Action | None, Query()] = None,
    school: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[datetime | None, Query(alias="from", description="From this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Before this time")] = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Who did what, when: sign-ins (and failures), sign-outs, people and keys changed, every
    ingest batch, lock and unlock, every pupil-list view. Filtered, newest first, in pages."""
    since, until = (
        t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t for t in (since, until)
    )
    entries, next_cursor = await identity.audit_page(
        caller,
        actor=actor,
        action=action.value if action else None,
        school=school,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return AuditPage(entries=[AuditLine.of(e) for e in entries], next_cursor=next_cursor)
