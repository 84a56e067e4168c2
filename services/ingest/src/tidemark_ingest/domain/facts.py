"""How a request changes a fact, as pure functions: each returns the new state, or None for "no change".

"No change" is what makes re-sending an identical batch store no duplicate facts and publish
nothing; any real change bumps the fact's version by one.

A fact's state is defined once, in the shared contracts: the snapshot its events carry (for a
school or a pupil, the record the tracker sends plus the fact's version).
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from tidemark_schemas.events import AssessmentSnapshot, PupilSnapshot, SchoolSnapshot, StatutorySnapshot
from tidemark_schemas.records import AssessmentRecord, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryRecord, normalised
from tidemark_schemas.vocabulary import Band


SchoolState = SchoolSnapshot
"""A stored school: its record and the version of the fact."""

PupilState = PupilSnapshot
"""A stored pupil: its record's fields and the version of the fact."""

ResultState = AssessmentSnapshot
"""One (pupil, year, period, subject) result: the draft value, the value that counts (with the code
of the school's own model behind each band, if it has one) and the version."""

StatutoryState = StatutorySnapshot
"""One (pupil, academic year, assessment, component) statutory result: the draft value and the
value that counts (None: not locked). Values are stored normalised (KS2 `T` as `U`)."""


def values_of(model: BaseModel) -> dict[str, Any]:
    """A model's field values as they are: `dict(model)`, without its generator of one pair at a time
    (six times slower, and this runs several times for every row of a batch)."""
    return {name: getattr(model, name) for name in _field_names(type(model))}


@functools.cache
def _field_names(kind: type[BaseModel]) -> tuple[str, ...]:
    return tuple(kind.model_fields)


def upsert_school(existing: SchoolState | None, record: SchoolRecord) -> SchoolState | None:
    fields = values_of(record)
    if existing is None:
        return SchoolState(**fields, version=1)
    if values_of(existing) == {**fields, "version": existing.version}:
        return None
    return SchoolState(**fields, version=existing.version + 1)


def upsert_pupil(existing: PupilState | None, record: PupilRecord) -> PupilState | None:
    fields = values_of(record)
    if existing is None:
        return PupilState(**fields, version=1)
    if values_of(existing) == {**fields, "version": existing.version}:
        return None
    return PupilState(**fields, version=existing.version + 1)


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
            year_group=record.year_group,
            entered_band=band,
            locked_band=None,
            entered_code=record.code,
            locked_code=None,
            version=1,
        )
    draft = {"entered_band": band, "entered_code": record.code, "school_id": record.school_id,
             "year_group": record.year_group}
    if all(getattr(existing, name) == value for name, value in draft.items()):
        return None
    return existing.model_copy(update={**draft, "version": existing.version + 1})


def lock_result(existing: ResultState) -> ResultState | None:
    """Locking makes the draft count; re-locking with another value (band or code) is a correction."""
    if existing.entered_band is None or (existing.locked_band, existing.locked_code) == (
        existing.entered_band,
        existing.entered_code,
    ):
        return None
    return existing.model_copy(update={
        "locked_band": existing.entered_band, "locked_code": existing.entered_code, "version": existing.version + 1,
    })


def unlock_result(existing: ResultState) -> ResultState | None:
    """Unlocking withdraws the value from every figure; the draft stays for the teacher."""
    if existing.locked_band is None:
        return None
    return existing.model_copy(update={"locked_band": None, "locked_code": None, "version": existing.version + 1})


def enter_statutory(existing: StatutoryState | None, record: StatutoryRecord) -> StatutoryState | None:
    """An entry changes the draft only (a locked value stays until the next lock). The value is
    compared normalised, so re-sending `T` for a stored `U` is no change. Validate first."""
    value = normalised(record.assessment, record.component, record.value)
    if existing is None:
        return StatutoryState(
            pupil_id=record.pupil_id,
            academic_year=record.academic_year,
            assessment=record.assessment,
            component=record.component,
            school_id=record.school_id,
            entered=value,
            locked=None,
            version=1,
        )
    if (existing.entered, existing.school_id) == (value, record.school_id):
        return None
    return existing.model_copy(update={"entered": value, "school_id": record.school_id, "version": existing.version + 1})


def lock_statutory(existing: StatutoryState) -> StatutoryState | None:
    """Locking makes the draft count; re-locking after a changed draft is a correction."""
    if existing.entered is None or existing.locked == existing.entered:
        return None
    return existing.model_copy(update={"locked": existing.entered, "version": existing.version + 1})


def unlock_statutory(existing: StatutoryState) -> StatutoryState | None:
    """Unlocking withdraws the value from every measure; the draft stays for the teacher."""
    if existing.locked is None:
        return None
    return existing.model_copy(update={"locked": None, "version": existing.version + 1})
