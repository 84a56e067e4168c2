"""How a request changes a fact, as pure functions: each returns the new state, or None for "no change".

"No change" is what makes re-sending an identical batch store no duplicate facts and publish
nothing; any real change bumps the fact's version by one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from tidemark_schemas.records import AssessmentRecord, PupilRecord, SchoolRecord


@dataclass(frozen=True)
class SchoolState:
    school_id: str
    name: str
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
    version: int


def upsert_school(existing: SchoolState | None, record: SchoolRecord) -> SchoolState | None:
    if existing is None:
        return SchoolState(record.school_id, record.name, 1)
    if existing.name == record.name:
        return None
    return replace(existing, name=record.name, version=existing.version + 1)


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


def enter_result(existing: ResultState | None, record: AssessmentRecord) -> ResultState | None:
    """A teacher's entry changes the draft only; a locked value stays until the next lock."""
    if existing is None:
        return ResultState(
            pupil_id=record.pupil_id,
            academic_year=record.academic_year,
            period=record.period,
            subject=record.subject,
            school_id=record.school_id,
            year_group=record.year_group.value,
            entered_band=record.band.value,
            locked_band=None,
            version=1,
        )
    if (existing.entered_band, existing.school_id, existing.year_group) == (
        record.band.value,
        record.school_id,
        record.year_group.value,
    ):
        return None
    return replace(
        existing,
        entered_band=record.band.value,
        school_id=record.school_id,
        year_group=record.year_group.value,
        version=existing.version + 1,
    )


def lock_result(existing: ResultState) -> ResultState | None:
    """Locking makes the draft count; re-locking with another value is a correction."""
    if existing.entered_band is None or existing.locked_band == existing.entered_band:
        return None
    return replace(existing, locked_band=existing.entered_band, version=existing.version + 1)


def unlock_result(existing: ResultState) -> ResultState | None:
    """Unlocking withdraws the value from every figure; the draft stays for the teacher."""
    if existing.locked_band is None:
        return None
    return replace(existing, locked_band=None, version=existing.version + 1)
