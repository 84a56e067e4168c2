"""Event contracts published on Kafka. One envelope for every event; payloads are full snapshots.

Every fact (a school, a pupil, one summative result) carries a `version` assigned by ingest that
grows with each change of that fact. A consumer keeps the highest version it has applied, so a
redelivered, duplicated or overtaken event is a no-op, and the latest snapshot always wins.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Final, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.progress import ProgressCategory
from tidemark_schemas.statutory import Assessment, StatutoryValue
from tidemark_schemas.records import AcademicYear, Identifier, Period, PupilFields
from tidemark_schemas.vocabulary import Band, YearGroup

SCHEMA_VERSION: Final = 1


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    trust_id: Identifier


class SchoolUpserted(Envelope):
    event_type: Literal["school-upserted"] = "school-upserted"
    school_id: Identifier
    name: str
    assessment_model: AssessmentModel | None = None
    version: int = Field(ge=1)


class PupilUpserted(Envelope, PupilFields):
    """A pupil's current characteristics (and leaving date). Re-sent in full on every change."""

    event_type: Literal["pupil-upserted"] = "pupil-upserted"
    left_on: date | None
    version: int = Field(ge=1)


class AssessmentSnapshot(BaseModel):
    """The whole state of one (pupil, subject, period) result: what ingest stores, and what each of
    its events carries after the change that caused it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pupil_id: Identifier
    school_id: Identifier
    academic_year: AcademicYear
    period: Period
    year_group: YearGroup
    subject: str
    entered_band: Band | None = Field(description="The teacher's current (draft) value")
    locked_band: Band | None = Field(description="The value that counts; null when not locked")
    entered_code: str | None = Field(default=None, description="The draft's code in the school's own model, if any")
    locked_code: str | None = Field(default=None, description="The counted value's code in the school's model, if any")
    version: int = Field(ge=1)


class _AssessmentSnapshot(AssessmentSnapshot, Envelope):
    """The envelope, then the snapshot (the fields in the order the contracts list them)."""


class AssessmentEntered(_AssessmentSnapshot):
    event_type: Literal["assessment-entered"] = "assessment-entered"


ActorId = Annotated[
    str | None,
    Field(description="Who locked or unlocked: the audit trail's actor id (`user:<id>`, `key:<id>` or `token:<role>`); "
          "absent from events written before accounts existed, and from replayed snapshots"),
]


class AssessmentLocked(_AssessmentSnapshot):
    event_type: Literal["assessment-locked"] = "assessment-locked"
    actor_id: ActorId = None


class AssessmentUnlocked(_AssessmentSnapshot):
    event_type: Literal["assessment-unlocked"] = "assessment-unlocked"
    actor_id: ActorId = None


AssessmentEvent = AssessmentEntered | AssessmentLocked | AssessmentUnlocked


class StatutorySnapshot(BaseModel):
    """The whole state of one statutory result (pupil, academic year, assessment, component): what
    ingest stores, and what each of its events carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pupil_id: Identifier
    school_id: Identifier
    academic_year: AcademicYear
    assessment: Assessment
    component: str
    entered: StatutoryValue | None = Field(description="The current (draft) value")
    locked: StatutoryValue | None = Field(description="The value that counts; null when not locked")
    version: int = Field(ge=1)


class _StatutorySnapshot(StatutorySnapshot, Envelope):
    """The envelope, then the snapshot (the fields in the order the contracts list them)."""


class StatutoryEntered(_StatutorySnapshot):
    event_type: Literal["statutory-entered"] = "statutory-entered"


class StatutoryLocked(_StatutorySnapshot):
    event_type: Literal["statutory-locked"] = "statutory-locked"
    actor_id: ActorId = None


class StatutoryUnlocked(_StatutorySnapshot):
    event_type: Literal["statutory-unlocked"] = "statutory-unlocked"
    actor_id: ActorId = None


StatutoryEvent = StatutoryEntered | StatutoryLocked | StatutoryUnlocked

TrackerEvent = Annotated[
    SchoolUpserted
    | PupilUpserted
    | AssessmentEntered
    | AssessmentLocked
    | AssessmentUnlocked
    | StatutoryEntered
    | StatutoryLocked
    | StatutoryUnlocked,
    Field(discriminator="event_type"),
]
tracker_event_adapter: TypeAdapter[TrackerEvent] = TypeAdapter(TrackerEvent)


def parse_tracker_event(raw: bytes | str) -> TrackerEvent:
    """Parse one message body; raises pydantic.ValidationError naming the bad field."""
    return tracker_event_adapter.validate_json(raw)


class AttainmentChanged(BaseModel):
    """Public notice that figures of one Trust period changed (`attainment.changes.v1`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trust_id: Identifier
    academic_year: AcademicYear
    period: Period
    measures: list[str]
    schools: list[str]
    applied_events: int
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ProgressCategoryChanged(BaseModel):
    """Public notice that a pupil's progress category in one period changed (`attainment.progress.v1`,
    keyed by pupil id). `previous` / `current` are `tidemark_schemas.progress.ProgressCategory`
    ids (stable; their labels are `CATEGORY_LABELS`), null when the pupil had / has no category (no
    combined RWM band in the period). A statutory rebuild re-categorises pupils without publishing
    here: after one, re-read the categories from the gateway."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trust_id: Identifier
    pupil_id: Identifier
    school_id: Identifier
    academic_year: AcademicYear
    period: Period
    previous: ProgressCategory | None
    current: ProgressCategory | None
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
