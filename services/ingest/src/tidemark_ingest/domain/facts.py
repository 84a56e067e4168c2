"""How a request changes a fact, as pure functions: each returns the new state, or None for "no change".

"No change" is what makes re-sending an identical batch store no duplicate facts and publish
nothing; any real change bumps the fact's version by one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from tidemark_schemas.records import AssessmentRecord, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryRecord, StatutoryValue, normalised
from tidemark_schemas.vocabulary import Band


@dataclass(frozen=True)
class SchoolState:
    school_id: str
    name: str
    assessment_model: str | None
    """The school's own assessment model as JSON (compared as text), or None."""
    version: int


@dataclass(frozen=True)
class PupilState:
    pupil_id: str
    school_id: str
    year_group: str
    sex: str
    fsm6: bool
    lac: bool
    plac: bool
    sen: str
    eal: bool
    ethnicity: str
    left_on: date | None
    version: int


@dataclass(frozen=True)
class ResultState:
    """One (pupil, year, period, subject) result: the draft value and the value that counts."""

    pupil_id: str
    academic_year: str
    period: str
    subject: str
    school_id: str
    year_group: str
    entered_band: str | None
    locked_band: str | None
    entered_code: str | None
    locked_code: str | None
    """The code of the school's own model behind each band, if the school has a model."""
    version: int


@dataclass(frozen=True)
class StatutoryState:
    """One (pupil, academic year, assessment, component) statutory result: the draft value and the
    value that counts (None: not locked). Values are stored normalised (KS2 `T` as `U`)."""

    pupil_id: str
    academic_year: str
    assessment: str
    component: str
    school_id: str
    entered: StatutoryValue
    locked: StatutoryValue | None
    version: int


def upsert_school(existing: SchoolState | None, record: SchoolRecord) -> SchoolState | None:
    model = record.assessment_model.model_dump_json() if record.assessment_model else None
    if existing is None:
        return SchoolState(record.school_id, record.name, model, 1)
    if (existing.name, existing.assessment_model) == (record.name, model):
        return None
    return replace(existing, name=record.name, assessment_model=model, version=existing.version + 1)


def upsert_pupil(existing: PupilState | None, record: PupilRecord) -> PupilState | None:
    fields = {
        "school_id": record.school_id,
        "year_group": record.year_group.value,
        "sex": record.sex.value,
        "fsm6": record.fsm6,
        "lac": record.lac,
        "plac": record.plac,
        "sen": record.sen.value,
        "eal": record.eal,
        "ethnicity": record.ethnicity,
        "left_on": record.left_on,
    }
    if existing is None:
        return PupilState(pupil_id=record.pupil_id, version=1, **fields)
    if all(getattr(existing, name) == value for name, value in fields.items()):
        return None
    return replace(existing, version=existing.version + 1, **fields)


def enter_result(existing: ResultState | None, record: AssessmentRecord, band: Band) -> ResultState | None:
    """A teacher's entry changes the draft only; a locked value stays until the next lock.
    `band` is the record's band, or the one its code stands for in the school's model."""
    if existing is None:
        return ResultState(
            pupil_id=record.pupil_id,
            academic_year=record.academic_year,
            period=record.period,
            subject=record.subject,
            school_id=record.school_id,
            year_group=record.year_group.value,
            entered_band=band.value,
            locked_band=None,
            entered_code=record.code,
            locked_code=None,
            version=1,
        )
    if (existing.entered_band, existing.entered_code, existing.school_id, existing.year_group) == (
        band.value,
        record.code,
        record.school_id,
        record.year_group.value,
    ):
        return None
    return replace(
        existing,
        entered_band=band.value,
        entered_code=record.code,
        school_id=record.school_id,
        year_group=record.year_group.value,
        version=existing.version + 1,
    )


def lock_result(existing: ResultState) -> ResultState | None:
    """Locking makes the draft count; re-locking with another value (band or code) is a correction."""
    if existing.entered_band is None or (existing.locked_band, existing.locked_code) == (
        existing.entered_band,
        existing.entered_code,
    ):
        return None
    return replace(
        existing, locked_band=existing.entered_band, locked_code=existing.entered_code, version=existing.version + 1
    )


def unlock_result(existing: ResultState) -> ResultState | None:
    """Unlocking withdraws the value from every figure; the draft stays for the teacher."""
    if existing.locked_band is None:
        return None
    return replace(existing, locked_band=None, locked_code=None, version=existing.version + 1)


def enter_statutory(existing: StatutoryState | None, record: StatutoryRecord) -> StatutoryState | None:
    """An entry changes the draft only (a locked value stays until the next lock). The value is
    compared normalised, so re-sending `T` for a stored `U` is no change. Validate first."""
    value = normalised(record.assessment, record.component, record.value)
    if existing is None:
        return StatutoryState(
            pupil_id=record.pupil_id,
            academic_year=record.academic_year,
            assessment=record.assessment.value,
            component=record.component,
            school_id=record.school_id,
            entered=value,
            locked=None,
            version=1,
        )
    if (existing.entered, existing.school_id) == (value, record.school_id):
        return None
    return replace(existing, entered=value, school_id=record.school_id, version=existing.version + 1)


def lock_statutory(existing: StatutoryState) -> StatutoryState | None:
    """Locking makes the draft count; re-locking after a changed draft is a correction."""
    if existing.locked == existing.entered:
        return None
    return replace(existing, locked=existing.entered, version=existing.version + 1)


def unlock_statutory(existing: StatutoryState) -> StatutoryState | None:
    """Unlocking withdraws the value from every measure; the draft stays for the teacher."""
    if existing.locked is None:
        return None
    return replace(existing, locked=None, version=existing.version + 1)
