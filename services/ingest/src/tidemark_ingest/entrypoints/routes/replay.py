"""GET /v1/replay/trusts and /v1/replay/facts: every current fact, paged, for projections to rebuild
from (`tidemark_schemas.replay`). Not for people: only the bearer of the shared replay token
(`REPLAY_TOKEN`) is admitted (`deps.replay_access`), so these routes name no permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.exceptions import RequestValidationError

from tidemark_ingest.entrypoints.deps import ReplayDep, replay_access
from tidemark_ingest.service_layer.replay import InvalidCursor
from tidemark_runtime.http import refusal
from tidemark_schemas.records import Identifier
from tidemark_schemas.replay import REPLAY_PAGE_LIMIT, FactKind, ReplayPage, ReplayTrusts

router = APIRouter(prefix="/v1/replay", tags=["replay"], dependencies=[Depends(replay_access)],
                   responses={401: refusal("Not the replay token (or no replay token is configured)")})


@router.get("/trusts")
async def replay_trusts(replay: ReplayDep) -> ReplayTrusts:
    """Every Trust in the store."""
    return ReplayTrusts(trust_ids=await replay.trust_ids())


@router.get("/facts", response_model=ReplayPage)
async def replay_facts(
    replay: ReplayDep,
    trust_id: Annotated[Identifier, Query(description="The Trust")],
    cursor: Annotated[str | None, Query(max_length=1000, description="From the previous page; none for the first")] = None,
    limit: Annotated[int, Query(ge=1, le=REPLAY_PAGE_LIMIT)] = REPLAY_PAGE_LIMIT,
    kinds: Annotated[list[FactKind] | None, Query(
        max_length=len(FactKind),
        description="Only facts of these kinds (repeat the parameter; left out: every kind): what a projection is "
        "rebuilt from")] = None,
) -> Response:
    """One page of a Trust's current facts, each as the event that describes it now. A cursor this
    replay did not hand out is refused like any invalid parameter (422)."""
    try:
        events, next_cursor = await replay.page(trust_id, cursor, limit, set(kinds) if kinds else None)
    except InvalidCursor as error:
        raise RequestValidationError([
            {"type": "value_error", "loc": ("query", "cursor"), "msg": str(error), "input": cursor}
        ]) from error
    # The page is written from the events' own JSON: no second validation of thousands of models.
    body = b'{"facts":[' + b",".join(event.model_dump_json().encode() for event in events) + b'],"next_cursor":'
    body += (b'"' + next_cursor.encode() + b'"' if next_cursor else b"null") + b"}"
    return Response(body, media_type="application/json")
