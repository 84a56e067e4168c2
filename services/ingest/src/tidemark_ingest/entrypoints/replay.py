"""The replay routes: every current fact, paged, for projections to rebuild from
(`tidemark_schemas.replay`). Only the bearer of the replay token (REPLAY_TOKEN) is admitted."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from tidemark_ingest.adapters import replay
from tidemark_runtime.auth import BearerCredentials, check_secret
from tidemark_schemas.records import Identifier
from tidemark_schemas.replay import REPLAY_PAGE_LIMIT, ReplayPage, ReplayTrusts


def replay_access(request: Request, credentials: BearerCredentials) -> None:
    check_secret(credentials, request.app.state.settings.replay_token, "replay token")


router = APIRouter(prefix="/v1/replay", tags=["replay"], dependencies=[Depends(replay_access)],
                   responses={401: {"description": "Not the replay token"}})


@router.get("/trusts", response_model=ReplayTrusts)
async def replay_trusts(request: Request) -> ReplayTrusts:
    """Every Trust in the store."""
    return ReplayTrusts(trust_ids=await replay.trust_ids(request.app.state.engine))


@router.get("/facts", response_model=ReplayPage,
            responses={422: {"description": "A cursor this replay did not hand out"}})
async def replay_facts(
    request: Request,
    trust_id: Annotated[Identifier, Query(description="The Trust")],
    cursor: Annotated[str | None, Query(max_length=1000, description="From the previous page; none for the first")] = None,
    limit: Annotated[int, Query(ge=1, le=REPLAY_PAGE_LIMIT)] = REPLAY_PAGE_LIMIT,
) -> Response:
    """One page of a Trust's current facts, each as the event that describes it now."""
    try:
        events, next_cursor = await replay.replay_page(request.app.state.engine, trust_id, cursor, limit)
    except replay.InvalidCursor as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [
            {"type": "value_error", "loc": ["query", "cursor"], "msg": str(error), "input": cursor}
        ]) from error
    # The page is written from the events' own JSON: no second validation of thousands of models.
    body = b'{"facts":[' + b",".join(event.model_dump_json().encode() for event in events) + b'],"next_cursor":'
    body += (b'"' + next_cursor.encode() + b'"' if next_cursor else b"null") + b"}"
    return Response(body, media_type="application/json")
