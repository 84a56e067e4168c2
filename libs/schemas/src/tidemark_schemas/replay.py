"""The replay contract: every current fact of the SQL store, as events, for projections to rebuild
from (`GET /v1/replay/trusts`, `GET /v1/replay/facts` on ingest).

A projection never imports the producer or reads its database: it pages through this replay with
the cursor each page hands back, and applies the facts like any consumed batch (versions make
replayed and live events meet in any order).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from tidemark_schemas.events import (
    AssessmentEntered,
    AssessmentLocked,
    AssessmentUnlocked,
    AttendanceMarked,
    ClassUpserted,
    PupilUpserted,
    SchoolUpserted,
    StatutoryEntered,
    StatutoryLocked,
    StatutoryUnlocked,
    TrackerEvent,
    TrustCalendarSet,
)

REPLAY_PAGE_LIMIT = 5000
"""The default and largest number of facts per page."""


class FactKind(StrEnum):
    """The kinds of facts the replay serves, in its order. A projection asks only for those it is
    rebuilt from (`Projection.facts`): the summative figures need no register marks."""

    CALENDARS = "calendars"
    SCHOOLS = "schools"
    CLASSES = "classes"
    PUPILS = "pupils"
    RESULTS = "results"
    STATUTORY = "statutory"
    MARKS = "marks"


FACT_KINDS: dict[type, FactKind] = {
    TrustCalendarSet: FactKind.CALENDARS,
    SchoolUpserted: FactKind.SCHOOLS,
    ClassUpserted: FactKind.CLASSES,
    PupilUpserted: FactKind.PUPILS,
    AssessmentEntered: FactKind.RESULTS,
    AssessmentLocked: FactKind.RESULTS,
    AssessmentUnlocked: FactKind.RESULTS,
    StatutoryEntered: FactKind.STATUTORY,
    StatutoryLocked: FactKind.STATUTORY,
    StatutoryUnlocked: FactKind.STATUTORY,
    AttendanceMarked: FactKind.MARKS,
}
"""The kind of fact each tracker event is about (what the replay would serve it as)."""


class ReplayTrusts(BaseModel):
    trust_ids: list[str] = Field(description="Every Trust with a school or a pupil in the store")


class ReplayPage(BaseModel):
    facts: list[TrackerEvent] = Field(
        description="Each fact's latest snapshot, as the event that describes it now (a result that counts is "
        "an `assessment-locked` / `statutory-locked`, any other an `-entered`), in primary-key order: the Trust's "
        "own school dates (`calendar-set`), schools, classes, "
        "pupils, summative results, statutory results, register marks (each an `attendance-marked`)"
    )
    next_cursor: str | None = Field(description="Send it back as `cursor` (with the same `kinds`) for the next page; "
                                    "null after the last")
