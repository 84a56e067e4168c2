"""GET /v1/live: Server-Sent Events of the change notices of the caller's schools."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import AfterValidator, TypeAdapter
from redis.exceptions import RedisError

from tidemark_gateway.domain.live import STREAM_ID, check_stream_id
from tidemark_gateway.entrypoints.deps import FiguresReader, LiveDep
from tidemark_gateway.service_layer.live import PageEnd
from tidemark_runtime.auth import GuardedRoute, still_speaks_for
from tidemark_schemas.notices import ChangeNotice

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["live"], route_class=GuardedRoute)

RECONNECT_MS = 3000
"""How long a browser waits before reconnecting to /v1/live."""

BEHIND = '{"reason": "this connection fell too far behind the notices; reconnect with Last-Event-ID to resume"}'
"""The data of the `reconnect` event that ends a page which fell behind."""

NOTICE = TypeAdapter(ChangeNotice)
"""A notice's `data`: its JSON without the Trust (`ChangeNotice.trust_id` is never serialised)."""

LastEventId = Annotated[
    str | None,
    Header(pattern=STREAM_ID.pattern,
           description="Resume after this event id (a Redis stream id, each part at most 2^64 - 1; else 422)"),
    AfterValidator(lambda value: value if value is None else check_stream_id(value)),
]


@router.get("/live", response_class=EventSourceResponse)
async def live(
    live: LiveDep, caller: FiguresReader, request: Request, last_event_id: LastEventId = None
) -> AsyncIterable[ServerSentEvent]:
    """Server-Sent Events: a `change` event (data: a change notice, `{"academic_year", "period",
    "measures", "schools"}`) whenever figures of the caller's schools change, and a comment as
    heartbeat while nothing does. Resumable with Last-Event-ID. The stream stays open however long
    nothing happens, as long as its credentials do: at each heartbeat they are checked again, and the
    stream ends once the key is revoked, the person disabled or signed out, or their role or schools
    changed (the browser then reconnects, with whatever access it has now). It ends with a
    `reconnect` event when the connection fell too far behind the notices (it did not read them), so
    that the client reconnects and resumes with Last-Event-ID."""
    page = await live.follow(caller, last_event_id)
    try:
        yield ServerSentEvent(comment="connected", retry=RECONNECT_MS)
        async for entry in page:
            if entry is None:
                if not await still_speaks_for(request, caller):
                    log.info("live stream ended: its credentials changed (%s)", caller.actor_id)
                    return
                yield ServerSentEvent(comment="heartbeat")
            elif entry is PageEnd.BEHIND:
                yield ServerSentEvent(event="reconnect", raw_data=BEHIND)
            elif not isinstance(entry, PageEnd):
                stream_id, notice = entry
                yield ServerSentEvent(id=stream_id, event="change", raw_data=NOTICE.dump_json(notice).decode())
    except RedisError as error:
        # Redis went away while the page caught up: end the stream; the browser reconnects with Last-Event-ID.
        log.warning("live stream ended: Redis is unavailable (%s)", error)
    finally:
        page.close()
