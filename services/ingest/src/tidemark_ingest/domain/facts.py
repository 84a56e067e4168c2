"""How a request changes a fact, as pure functions: each returns the new state, or None for "no change".

"No change" is what makes re-sending an identical batch store no duplicate facts and publish
nothing; any real change bumps the fact's version by one.

A fact's state is defined once, in the shared contracts: the snapshot its events carry (for a
school or a pupil, the record the tracker sends plus the fact's version).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel

from tidemark_schemas.events import AssessmentSnapshot, ClassSnapshot, PupilSnapshot, SchoolSnapshot, StatutorySnapshot
from tidemark_schemas.records import AssessmentRecord, ClassRecord, PupilRecord, SchoolRecord, default_assessment_date
from tidemark_schemas.statutory import StatutoryRecord, normalised
from tidemark_schemas.vocabulary import Band


SchoolState = SchoolSnapshot
"""A stored school: its record and the version of the fact."""

PupilState = PupilSnapshot
"""A stored pupil: its record's fields, its class per academic year and the version of the fact."""

ClassState = ClassSnapshot
"""A stored class: its record and the version of the fact."""

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


def upsert_class(existing: ClassState | None, record: ClassRecord) -> ClassState | None:
    fields = values_of(record)
    if existing is None:
        return ClassState(**fields, version=1)
    if values_of(existing) == {**fields, "version": existing.version}:
        return None
    return ClassState(**fields, version=existing.version + 1)


def classes_after(
    existing: Mapping[str, str], record: PupilRecord, class_years: Mapping[str, str], current_year: str
) -> dict[str, str]:
    """The pupil's class per academic year after the record: a `class_id` sent puts the pupil in
    that class in its academic year (a move replaces that year's class, other years keep theirs);
    null takes them out of their class of the current year; left out changes nothing.
    `class_years`: each known class's academic year (validate first)."""
    classes = dict(existing)
    if "class_id" in record.model_fields_set:
        if record.class_id is None:
            classes.pop(current_year, None)
        else:
            classes[class_years[record.class_id]] = record.class_id
    return classes


def upsert_pupil(
    existing: PupilState | None, record: PupilRecord, class_years: Mapping[str, str] | None = None,
    current_year: str = "",
) -> PupilState | None:
    fields = values_of(record)
    del fields["class_id"]
    fields["classes"] = classes_after(existing.classes if existing else {}, record, class_years or {}, current_year)
    if existing is None:
        return PupilState(**fields, version=1)
    if values_of(existing) == {**fields, "version": existing.version}:
        return None
    return PupilState(**fields, version=existing.version + 1)


def assessed_on(
    sent: date | None, academic_year: str, today: date, existing: date | None, value_changed: bool
) -> date | None:
    """An entry's assessment date: the one sent; else the stored one when the value is unchanged (a
    re-sent file changes nothing); else the day it is entered, within its academic year."""
    if sent is not None:
        return sent
    if not value_changed:
        return existing
    return default_assessment_date(academic_year, today)


def enter_result(
    existing: ResultState | None, record: AssessmentRecord, band: Band, today: date | None = None
) -> ResultState | None:
    """A teacher's entry changes the draft only; a locked value stays until the next lock.
    `band` is the record's band, or the one its code stands for in the school's model; `today`
    dates an entry sent without its assessment date (`assessed_on`)."""
    today = today or date.today()
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
            assessed_on=assessed_on(record.assessed_on, record.academic_year, today, None, True),
            version=1,
        )
    value_changed = (existing.entered_band, existing.entered_code) != (band, record.code)
    draft = {"entered_band": band, "entered_code": record.code, "school_id": record.school_id,
             "year_group": record.year_group,
             "assessed_on": assessed_on(record.assessed_on, record.academic_year, today, existing.assessed_on,
                                        value_changed)}
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


def enter_statutory(
    existing: StatutoryState | None, record: StatutoryRecord, today: date | None = None
) -> StatutoryState | None:
    """An entry changes the draft only (a locked value stays until the next lock). The value is
    compared normalised, so re-sending `T` for a stored `U` is no change. Validate first. `today`
    dates an entry sent without its assessment date."""
    today = today or date.today()
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
            assessed_on=assessed_on(record.assessed_on, record.academic_year, today, None, True),
            version=1,
        )
    day = assessed_on(record.assessed_on, record.academic_year, today, existing.assessed_on, existing.entered != value)
    if (existing.entered, existing.school_id, existing.assessed_on) == (value, record.school_id, day):
        return None
    return existing.model_copy(update={"entered": value, "school_id": record.school_id, "assessed_on": day,
                                       "version": existing.version + 1})


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
