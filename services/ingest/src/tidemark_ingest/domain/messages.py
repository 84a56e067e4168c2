"""The event each changed fact publishes: (topic, key, event), the fact's state in an envelope. Pure."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from tidemark_ingest.domain.facts import ClassState, PupilState, ResultState, SchoolState, StatutoryState, values_of
from tidemark_schemas import topics
from tidemark_schemas.events import (
    AssessmentEntered,
    AssessmentLocked,
    AssessmentUnlocked,
    AttendanceMarked,
    AttendanceSnapshot,
    CalendarSnapshot,
    ClassUpserted,
    PupilUpserted,
    SchoolUpserted,
    StatutoryEntered,
    StatutoryLocked,
    StatutoryUnlocked,
    TrustCalendarSet,
)

Message = tuple[str, str, BaseModel]
ResultChange = Literal["entered", "locked", "unlocked"]

_RESULT_EVENTS = {"entered": AssessmentEntered, "locked": AssessmentLocked, "unlocked": AssessmentUnlocked}
_STATUTORY_EVENTS = {"entered": StatutoryEntered, "locked": StatutoryLocked, "unlocked": StatutoryUnlocked}


def school_message(trust_id: str, state: SchoolState) -> Message:
    return topics.SCHOOLS, state.school_id, SchoolUpserted(trust_id=trust_id, **values_of(state))


def class_message(trust_id: str, state: ClassState) -> Message:
    """A class goes on the schools topic, keyed by its school (a school's reference data in order)."""
    return topics.SCHOOLS, state.school_id, ClassUpserted(trust_id=trust_id, **values_of(state))


def pupil_message(trust_id: str, state: PupilState) -> Message:
    return topics.PUPILS, state.pupil_id, PupilUpserted(trust_id=trust_id, **values_of(state))


def _actor(change: ResultChange, actor_id: str | None) -> dict[str, str | None]:
    """A lock's or unlock's event names who did it; an entry's event has no such field."""
    return {} if change == "entered" else {"actor_id": actor_id}


def result_message(trust_id: str, change: ResultChange, state: ResultState, actor_id: str | None = None) -> Message:
    event = _RESULT_EVENTS[change](trust_id=trust_id, **values_of(state), **_actor(change, actor_id))
    return topics.ASSESSMENTS, state.pupil_id, event


def statutory_message(
    trust_id: str, change: ResultChange, state: StatutoryState, actor_id: str | None = None
) -> Message:
    event = _STATUTORY_EVENTS[change](trust_id=trust_id, **values_of(state), **_actor(change, actor_id))
    return topics.STATUTORY, state.pupil_id, event


def attendance_message(trust_id: str, state: AttendanceSnapshot) -> Message:
    return topics.ATTENDANCE, state.pupil_id, AttendanceMarked(trust_id=trust_id, **values_of(state))


def calendar_message(trust_id: str, state: CalendarSnapshot) -> Message:
    """On the pupils topic, keyed by the Trust: the attendance projection already follows the
    Trust's reference facts there, and the consumers that do not date anything ignore it."""
    return topics.PUPILS, trust_id, TrustCalendarSet(trust_id=trust_id, **values_of(state))
