"""SQL tables of the ingest store (sqlmodel): the durable source of every fact, plus the outbox.

Every fact row carries a `version` that grows with each change of that fact; the events published
for it carry the same number, which is what makes every consumer idempotent.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime

from typing import Any

from sqlalchemy import JSON, DateTime, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class SchoolRow(SQLModel, table=True):
    __tablename__ = "school"

    trust_id: str = Field(primary_key=True)
    school_id: str = Field(primary_key=True)
    name: str
    assessment_model: str | None = Field(default=None, description="The school's own model, as JSON")
    version: int


class PupilRow(SQLModel, table=True):
    __tablename__ = "pupil"

    trust_id: str = Field(primary_key=True)
    pupil_id: str = Field(primary_key=True)
    school_id: str
    year_group: str
    sex: str
    fsm6: bool
    lac: bool
    plac: bool
    sen: str
    eal: bool
    ethnicity: str
    left_on: date | None = None
    classes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, sa_column_kwargs={"server_default": "{}"},
                                    description="The pupil's class per academic year: {academic year: class id}")
    version: int


class ClassRow(SQLModel, table=True):
    """A class of one school in one academic year (`class` is a reserved word in SQL)."""

    __tablename__ = "school_class"
    __table_args__ = (Index("ix_school_class_school", "trust_id", "school_id", "academic_year"),)

    trust_id: str = Field(primary_key=True)
    class_id: str = Field(primary_key=True)
    school_id: str
    academic_year: str
    name: str
    year_groups: list[Any] = Field(sa_type=JSON, description="The year groups it teaches, as a JSON list")
    version: int


class AssessmentRow(SQLModel, table=True):
    """One summative result: its draft (entered) value and the value that counts (locked)."""

    __tablename__ = "assessment"
    __table_args__ = (Index("ix_assessment_scope", "trust_id", "school_id", "academic_year", "period"),)

    trust_id: str = Field(primary_key=True)
    pupil_id: str = Field(primary_key=True)
    academic_year: str = Field(primary_key=True)
    period: str = Field(primary_key=True)
    subject: str = Field(primary_key=True)
    school_id: str
    year_group: str
    entered_band: str | None = None
    locked_band: str | None = None
    entered_code: str | None = None
    locked_code: str | None = None
    assessed_on: date | None = None
    version: int


class StatutoryRow(SQLModel, table=True):
    """One component of one statutory assessment of a pupil: its draft (entered) value and the value
    that counts (locked), each a raw mark, a scaled score and/or a code (all null: no value)."""

    __tablename__ = "statutory_result"
    __table_args__ = (Index("ix_statutory_result_scope", "trust_id", "school_id", "academic_year"),)

    trust_id: str = Field(primary_key=True)
    pupil_id: str = Field(primary_key=True)
    academic_year: str = Field(primary_key=True)
    assessment: str = Field(primary_key=True)
    component: str = Field(primary_key=True)
    school_id: str
    entered_mark: int | None = None
    entered_scaled_score: int | None = None
    entered_code: str | None = None
    locked_mark: int | None = None
    locked_scaled_score: int | None = None
    locked_code: str | None = None
    assessed_on: date | None = None
    version: int


class OutboxRow(SQLModel, table=True):
    """An event written in the same transaction as the facts it describes; the relay publishes it.

    Published rows stay (the record of every event). The relay finds the unpublished ones through a
    partial index that holds only them, so its cost does not grow with the rows already published."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),)

    id: int | None = Field(default=None, primary_key=True)
    topic: str
    key: str
    payload: str
    created_at: datetime
    published_at: datetime | None = None
    traceparent: str | None = None
    """The W3C trace context of the request that wrote the row (null when tracing is off)."""


class AttendanceRow(SQLModel, table=True):
    """One register mark: the fact is (pupil, date, session); a later mark replaces it (a correction)."""

    __tablename__ = "attendance_mark"

    trust_id: str = Field(primary_key=True)
    pupil_id: str = Field(primary_key=True)
    date: dt.date = Field(primary_key=True)
    session: str = Field(primary_key=True)
    school_id: str
    code: str
    year_group: str
    version: int


class TrustCalendarRow(SQLModel, table=True):
    """A Trust's own school dates of one academic year (`events.CalendarSnapshot`): the fact is
    (Trust, academic year); a year without a row has the English default dates."""

    __tablename__ = "trust_calendar"

    trust_id: str = Field(primary_key=True)
    academic_year: str = Field(primary_key=True)
    dates: str = Field(description="The half-terms and closures as the API takes them (`records.CalendarRecord`), JSON")
    version: int


class ImportJobRow(SQLModel, table=True):
    """One bulk import (`POST /v1/imports`): its file, settings, state and progress, in the SQL store so
    that any replica answers its status and may commit it."""

    __tablename__ = "import_job"

    import_id: str = Field(primary_key=True)
    trust_id: str = Field(index=True)
    kind: str
    filename: str | None = None
    content: bytes = Field(sa_type=LargeBinary)
    defaults: str = Field(description="The upload's school_id, academic_year, period as JSON")
    mapping: str = Field(description="File header -> field, as JSON (the upload's, or the saved one it was read with)")
    mapping_from: str | None = Field(default=None, description="upload | saved: whose mapping; null: headers only")
    saved_mapping_id: str | None = Field(default=None, description="The saved mapping it was read with")
    columns: str | None = Field(default=None, description="Each header and the field it feeds, as JSON")
    state: str
    rows_read: int = 0
    rows_valid: int = 0
    rows_stored: int = 0
    error_count: int = 0
    errors: str | None = Field(default=None, description="The first errors, as JSON")
    errors_csv: bytes | None = Field(default=None, sa_type=LargeBinary, description="Every error, gzipped CSV")
    reason: str | None = None
    actor_id: str | None = None
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class ImportMappingRow(SQLModel, table=True):
    """A column mapping committed with an import, saved for its school, kind and file shape, so that
    the school's next upload of that shape is read with it (`domain.import_mappings`)."""

    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("trust_id", "school_id", "kind", "shape", name="uq_import_mapping_shape"),)

    mapping_id: str = Field(primary_key=True)
    trust_id: str
    school_id: str
    kind: str
    shape: str = Field(description="The file's headers as compared, hashed (`shape_of`)")
    headers: str = Field(description="The headers of the file it was committed with, as JSON")
    mapping: str = Field(description="File header -> field, as JSON")
    actor_id: str | None = None
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
