"""The replay contract: every current fact of the SQL store, as events, for projections to rebuild
from (`GET /v1/replay/trusts`, `GET /v1/replay/facts` on ingest).

A projection never imports the producer or reads its database: it pages through this replay with
the cursor each page hands back, and applies the facts like any consumed batch (versions make
replayed and live events meet in any order).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tidemark_schemas.events import TrackerEvent

REPLAY_PAGE_LIMIT = 5000
"""The default and largest number of facts per page."""


class ReplayTrusts(BaseModel):
    trust_ids: list[str] = Field(description="Every Trust with a school or a pupil in the store")


class ReplayPage(BaseModel):
    facts: list[TrackerEvent] = Field(
        description="Each fact's latest snapshot, as the event that describes it now (a result that counts is "
        "an `assessment-locked` / `statutory-locked`, any other an `-entered`), in primary-key order: the Trust's "
        "own school dates (`calendar-set`), schools, classes, "
        "pupils, summative results, statutory results, register marks (each an `attendance-marked`)"
    )
    next_cursor: str | None = Field(description="Send it back as `cursor` for the next page; null after the last")
