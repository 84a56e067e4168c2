"""Event contracts published on Kafka. One envelope for every event; payloads are full snapshots.

Every fact (a school, a pupil, one summative or statutory result, one register mark, a Trust's
dates of one academic year) carries a
`version` assigned by ingest that grows with each change of that fact. A consumer keeps the highest version it has applied, so a
redelivered, duplicated or overtaken event is a no-op, and the latest snapshot always wins.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, date, datetime
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from tidemark_schemas.attendance import RegisterCodeValue, Session
from tidemark_schemas.calendar import YearDates, is_weekend
from tidemark_schemas.progress import ProgressCategory
from tidemark_schemas.statutory import Assessment, StatutoryValue
from tidemark_schemas.records import (
    AcademicYear,
    CalendarRecord,
    ClassRecord,
    Identifier,
    Period,
    PupilFields,
    SchoolRecord,
)
from tidemark_schemas.vocabulary import Band, YearGroup

SCHEMA_VERSION: Final = 1


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    trust_id: Identifier


Version = Annotated[int, Field(ge=1, description="The fact's version: grows by one with each change of the fact")]


class SchoolSnapshot(SchoolRecord):
    """A school as ingest stores it and each of its events carries it: the tracker's record and the
    fact's version."""

    version: Version


class SchoolUpserted(SchoolSnapshot, Envelope):
    event_type: Literal["school-upserted"] = "school-upserted"


class ClassSnapshot(ClassRecord):
    """A class as ingest stores it and each of its events carries it: the tracker's record and the
    fact's version."""

    version: Version


class ClassUpserted(ClassSnapshot, Envelope):
    """A class created or changed (name, year groups). Published on `tracker.schools.v1`, keyed by
    its school id, like the school."""

    event_type: Literal["class-upserted"] = "class-upserted"


Classes = Annotated[
    dict[AcademicYear, Identifier],
    Field(description="The pupil's class in each academic year they had one (academic year -> class id); a past "
          "year keeps the class the pupil was in then"),
]


class PupilSnapshot(PupilFields):
    """A pupil as ingest stores it and each of its events carries it: the tracker's fields (the
    leaving date always sent), the pupil's class in each academic year, and the fact's version."""

    left_on: date | None
    classes: Classes = {}
    version: Version


class PupilUpserted(PupilSnapshot, Envelope):
    """A pupil's current characteristics (and leaving date). Re-sent in full on every change."""

    event_type: Literal["pupil-upserted"] = "pupil-upserted"


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
    assessed_on: dt.date | None = Field(
        default=None, description="The day the pupil was assessed (the draft's; absent from results stored before "
        "assessment dates were recorded)")
    version: Version


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
    assessed_on: dt.date | None = Field(
        default=None, description="The day the pupil was assessed (the draft's; absent from results stored before "
        "assessment dates were recorded)")
    version: Version


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


class AttendanceSnapshot(BaseModel):
    """One register mark as ingest stores it and its event carries it: the fact is (pupil, date,
    session), so a later mark for the same session replaces the earlier one (a correction) and its
    version grows with each change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pupil_id: Identifier
    school_id: Identifier = Field(description="The school that took the register")
    date: dt.date = Field(description="A school day (Monday to Friday)")
    session: Session
    code: RegisterCodeValue = Field(description="A register code (`tidemark_schemas.attendance.REGISTER_CODES`; "
                                    "'-' for no mark)")
    year_group: YearGroup = Field(description="The pupil's year group in the academic year of the date")
    version: Version

    @field_validator("date")
    @classmethod
    def _school_day(cls, value: dt.date) -> dt.date:
        if is_weekend(value):
            raise ValueError(f"{value} is a {value:%A}: register marks are for school days, Monday to Friday")
        return value


class AttendanceMarked(AttendanceSnapshot, Envelope):
    """One register mark (`AttendanceSnapshot`) in its envelope. Published on
    `tracker.attendance.v1`, keyed by pupil id."""

    event_type: Literal["attendance-marked"] = "attendance-marked"


class CalendarSnapshot(CalendarRecord):
    """One academic year's school dates as a Trust set them, as ingest stores them and their event
    carries them: the fact is (Trust, academic year); its version grows with each change."""

    academic_year: AcademicYear
    version: Version

    def dates(self) -> YearDates:
        """The year's dates as the calendar uses them (`calendar.PeriodCalendar(dates=...)`)."""
        return self.year_dates(self.academic_year)


def stored_dates(stored: Mapping[Any, str | bytes]) -> dict[str, CalendarSnapshot]:
    """Academic year -> a Trust's own dates, from a hash of `CalendarSnapshot` JSON values (the
    attendance projection's `Keyspace.dates` and `calendar_key`)."""
    return {snapshot.academic_year: snapshot
            for snapshot in (CalendarSnapshot.model_validate_json(raw) for raw in stored.values())}


class TrustCalendarSet(CalendarSnapshot, Envelope):
    """A Trust set its own dates for one academic year (`CalendarSnapshot`): from then on its marks
    fall in its own periods, and the attendance projection re-dates what it counted. Published on
    `tracker.pupils.v1` (the Trust's reference facts the attendance projection already follows),
    keyed by Trust id."""

    event_type: Literal["calendar-set"] = "calendar-set"


TrackerEvent = Annotated[
    SchoolUpserted
    | ClassUpserted
    | PupilUpserted
    | AssessmentEntered
    | AssessmentLocked
    | AssessmentUnlocked
    | StatutoryEntered
    | StatutoryLocked
    | StatutoryUnlocked
    | AttendanceMarked
    | TrustCalendarSet,
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
