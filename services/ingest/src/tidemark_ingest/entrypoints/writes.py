"""What every write route does besides its use case: keep a school-scoped key to its schools, and
record the write in the audit trail, accepted or rejected (`audited`; a batch of rows: `audited_batch`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from fastapi import HTTPException, Request, status

from tidemark_identity.domain.audit import Action
from tidemark_ingest.entrypoints.deps import ServicesDep
from tidemark_ingest.service_layer.tracker import BatchAccepted, BatchRejected
from tidemark_runtime.principal import Principal


def writable(caller: Principal, schools: Iterable[str]) -> None:
    """A key or a person scoped to some schools writes only those: 403 naming the first other one."""
    if caller.schools is not None and (others := sorted(set(schools) - caller.schools)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this caller may not write school {others[0]!r} (not in its scope)"
        )


async def audited(
    built: ServicesDep,
    caller: Principal,
    request: Request,
    action: Action,
    work: Awaitable[BatchAccepted],
    school_id: str | None = None,
    **detail: Any,
) -> BatchAccepted:
    """Run a tracker use case and record it in the audit trail, accepted or rejected."""
    try:
        accepted = await work
    except BatchRejected as rejected:
        await built.identity.record(
            caller,
            action,
            school_id,
            request=request.url.path,
            accepted=False,
            errors=len(rejected.errors),
            **detail,
        )
        raise
    await built.identity.record(
        caller,
        action,
        school_id,
        request=request.url.path,
        accepted=True,
        results=accepted.received,
        changed=accepted.changed,
        **detail,
    )
    return accepted


class OfASchool(Protocol):
    """A row of a batch: it names the school it is of."""

    @property
    def school_id(self) -> str: ...


Row = TypeVar("Row", bound=OfASchool)


async def audited_batch(
    built: ServicesDep,
    caller: Principal,
    request: Request,
    use_case: Callable[[str, Sequence[Row]], Awaitable[BatchAccepted]],
    records: Sequence[Row],
) -> BatchAccepted:
    """What every batch route does: the caller must write each row's school, and the audit trail
    records the batch, accepted or refused."""
    writable(caller, (r.school_id for r in records))
    return await audited(built, caller, request, Action.BATCH, use_case(caller.trust_id, records), rows=len(records))
