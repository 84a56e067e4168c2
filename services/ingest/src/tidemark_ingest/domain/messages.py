"""The event each changed fact publishes: (topic, key, event). Pure."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from tidemark_ingest.domain.facts import PupilState, ResultState, SchoolState, StatutoryState
from tidemark_schemas import topics
from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.events import (
    AssessmentEntered,
    AssessmentLocked,
    AssessmentUnlocked,
    PupilUpserted,
    SchoolUpserted,
    StatutoryEntered,
    StatutoryLocked,
    StatutoryUnlocked,
)
from tidemark_schemas.statutory import Assessment
from tidemark_schemas.vocabulary import Band

Message = tuple[str, str, BaseModel]
ResultChange = Literal["entered", "locked", "unlocked"]

_RESULT_EVENTS = {"entered": AssessmentEntered, "locked": AssessmentLocked, "unlocked": AssessmentUnlocked}
_STATUTORY_EVENTS = {"entered": StatutoryEntered, "locked": StatutoryLocked, "unlocked": StatutoryUnlocked}


def school_message(trust_id: str, state: SchoolState) -> Message:
    model = AssessmentModel.model_validate_json(state.assessment_model) if state.assessment_model else None
    event = SchoolUpserted(
        trust_id=trust_id, school_id=state.school_id, name=state.name, assessment_model=model, version=state.version
    )
    return topics.SCHOOLS, state.school_id, event


def pupil_message(trust_id: str, state: PupilState) -> Message:
    event = PupilUpserted(
        trust_id=trust_id,
        pupil_id=state.pupil_id,
        school_id=state.school_id,
        year_group=state.year_group,  # type: ignore[arg-type]
        sex=state.sex,  # type: ignore[arg-type]
        fsm6=state.fsm6,
        lac=state.lac,
        plac=state.plac,
        sen=state.sen,  # type: ignore[arg-type]
        eal=state.eal,
        ethnicity=state.ethnicity,
        left_on=state.left_on,
        version=state.version,
    )
    return topics.PUPILS, state.pupil_id, event


def result_message(trust_id: str, change: ResultChange, state: ResultState) -> Message:
    event = _RESULT_EVENTS[change](
        trust_id=trust_id,
        pupil_id=state.pupil_id,
        school_id=state.school_id,
        academic_year=state.academic_year,
        period=state.period,
        year_group=state.year_group,  # type: ignore[arg-type]
        subject=state.subject,
        entered_band=Band(state.entered_band) if state.entered_band else None,
        locked_band=Band(state.locked_band) if state.locked_band else None,
        entered_code=state.entered_code,
        locked_code=state.locked_code,
        version=state.version,
    )
    return topics.ASSESSMENTS, state.pupil_id, event


def statutory_message(trust_id: str, change: ResultChange, state: StatutoryState) -> Message:
    event = _STATUTORY_EVENTS[change](
        trust_id=trust_id,
        pupil_id=state.pupil_id,
        school_id=state.school_id,
        academic_year=state.academic_year,
        assessment=Assessment(state.assessment),
        component=state.component,
        entered=state.entered,
        locked=state.locked,
        version=state.version,
    )
    return topics.STATUTORY, state.pupil_id, event
