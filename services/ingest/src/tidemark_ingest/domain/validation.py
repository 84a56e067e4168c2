"""Referential checks of a batch, as pure functions. Structural checks live in the shared records.

A batch with any invalid row is rejected whole, so these return every problem at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import Field

from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.calendar import academic_year_of
from tidemark_schemas.events import ClassSnapshot
from tidemark_schemas.records import AssessmentRecord, ClassRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryRecord, problems
from tidemark_schemas.vocabulary import Band

UNKNOWN_PUPIL = "unknown pupil for this Trust: post it to /v1/pupils first"
REPEATS = "repeats row {row} of this batch"
"""The reason of a fact sent twice in one batch (an import names the file's row instead)."""

SchoolModels = Mapping[str, AssessmentModel | None]
"""The Trust's schools, each with its own assessment model or None."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem: which row of the batch (none for a single-object body), which field, and why."""

    row: Annotated[int | None, Field(description="Index of the row in the batch; null for a single-object body")]
    field: str
    reason: str
    value: Any = None


def check_schools(records: Sequence[SchoolRecord | None]) -> list[FieldError]:
    return duplicates(records, lambda r: r.school_id, "school_id")


UNKNOWN_SCHOOL = "unknown school for this Trust: post it to /v1/schools first"


def check_classes(
    records: Sequence[ClassRecord | None], known_schools: Collection[str], stored: Mapping[str, ClassSnapshot]
) -> list[FieldError]:
    """A class of a known school; a stored class keeps its school and academic year (a class of
    another year is another class, with its own id)."""
    errors: list[FieldError] = []
    for i, r in enumerate(records):
        if r is None:
            continue
        if r.school_id not in known_schools:
            errors.append(FieldError(i, "school_id", UNKNOWN_SCHOOL, r.school_id))
        before = stored.get(r.class_id)
        if before is not None:
            for field in ("school_id", "academic_year"):
                if getattr(before, field) != getattr(r, field):
                    errors.append(FieldError(i, field, f"class {r.class_id} is of school {before.school_id} in "
                                             f"{before.academic_year}: a class keeps its school and year (a class of "
                                             "another year or school is another class, with its own id)",
                                             getattr(r, field)))
    errors += duplicates(records, lambda r: r.class_id, "class_id")
    return errors


def check_pupils(
    records: Sequence[PupilRecord | None],
    known_schools: Collection[str],
    classes: Mapping[str, ClassSnapshot] | None = None,
    today: date | None = None,
) -> list[FieldError]:
    """A pupil of a known school, in a known class: a class of this academic year (or a later one)
    is one of the pupil's school; a class of an earlier year may be of another school of the Trust
    (the pupil's school then, which the record does not say). Whether the class teaches the pupil's
    year group is the school's call (mixed-age and catch-up placements), not checked."""
    current_year = academic_year_of(today or date.today())
    errors = [
        FieldError(i, "school_id", UNKNOWN_SCHOOL, r.school_id)
        for i, r in enumerate(records)
        if r is not None and r.school_id not in known_schools
    ]
    for i, r in enumerate(records):
        if r is not None and r.class_id is not None:
            reason = _class_problem(r, (classes or {}).get(r.class_id), current_year)
            if reason:
                errors.append(FieldError(i, "class_id", reason, r.class_id))
    errors += duplicates(records, lambda r: r.pupil_id, "pupil_id")
    return errors


def _class_problem(record: PupilRecord, found: ClassSnapshot | None, current_year: str) -> str | None:
    if found is None:
        return "unknown class for this Trust: post it to /v1/classes first"
    if found.school_id != record.school_id and found.academic_year >= current_year:
        return (f"class {found.class_id} is a class of school {found.school_id} in {found.academic_year}, not of the "
                f"pupil's school {record.school_id}")
    return None


def check_assessments(
    records: Sequence[AssessmentRecord | None],
    schools: SchoolModels,
    known_pupils: Collection[str],
    calendar: PeriodCalendar,
) -> list[FieldError]:
    """`None` stands for a row that already failed structural validation (kept for its index)."""
    errors: list[FieldError] = []
    for i, r in enumerate(records):
        if r is None:
            continue
        errors += _unknown(i, r, schools, known_pupils)
        if r.school_id in schools:
            errors += _model_errors(i, r, schools[r.school_id])
        if r.period not in calendar:
            errors.append(FieldError(i, "period", _period_reason(calendar), r.period))
    errors += duplicates(records, lambda r: (r.pupil_id, r.academic_year, r.period, r.subject), "subject")
    return errors


def _model_errors(row: int, record: AssessmentRecord, model: AssessmentModel | None) -> list[FieldError]:
    """A school with its own model sends that model's codes; a school without one sends bands."""
    school = record.school_id
    if model is None:
        if record.code is None:
            return []
        reason = f"school {school} has no assessment model: send a band, or declare its model on /v1/schools"
        return [FieldError(row, "code", reason, record.code)]
    codes = ", ".join(item.code for item in model.codes)
    if record.code is None:
        return [FieldError(row, "code", f"school {school} uses assessment model {model.name!r}: send one of its codes "
                         f"({codes})", None)]
    band = model.band_of(record.code)
    if band is None:
        return [FieldError(row, "code", f"unknown code in assessment model {model.name!r}; expected one of {codes}",
                         record.code)]
    if record.band is not None and record.band is not band:
        return [FieldError(row, "band", f"code {record.code!r} of model {model.name!r} means {band}, not {record.band}",
                         record.band.value)]
    return []


def band_of(record: AssessmentRecord, model: AssessmentModel | None) -> Band:
    """The band a valid record counts as: its own, or the one its code stands for."""
    if model is not None and record.code is not None:
        band = model.band_of(record.code)
        if band is not None:
            return band
    if record.band is None:
        raise ValueError("a record without a band needs a code of its school's model (validate first)")
    return record.band


def _unknown(
    row: int, record: AssessmentRecord | StatutoryRecord, known_schools: Collection[str], known_pupils: Collection[str]
) -> list[FieldError]:
    """A result of a pupil or school the Trust does not have."""
    errors = []
    if record.pupil_id not in known_pupils:
        errors.append(FieldError(row, "pupil_id", UNKNOWN_PUPIL, record.pupil_id))
    if record.school_id not in known_schools:
        errors.append(FieldError(row, "school_id", "unknown school for this Trust", record.school_id))
    return errors


def check_scope(scope: LockScope, known_schools: Collection[str], calendar: PeriodCalendar) -> list[FieldError]:
    errors: list[FieldError] = []
    if scope.school_id not in known_schools:
        errors.append(FieldError(None, "school_id", "unknown school for this Trust", scope.school_id))
    if scope.period not in calendar:
        errors.append(FieldError(None, "period", _period_reason(calendar), scope.period))
    return errors


def check_class(class_id: str | None, school_id: str, academic_year: str, classes: Collection[str]) -> list[FieldError]:
    """A selection's class must be one of the school's classes of that academic year."""
    if class_id is None or class_id in classes:
        return []
    return [FieldError(None, "class_id", f"not a class of school {school_id} in {academic_year}", class_id)]


def check_statutory(
    records: Sequence[StatutoryRecord | None], known_schools: Collection[str], known_pupils: Collection[str]
) -> list[FieldError]:
    """Referential checks plus each value against its component's code table (`problems()`, the one
    place those rules live). `None` stands for a row that already failed structural validation."""
    errors: list[FieldError] = []
    for i, r in enumerate(records):
        if r is None:
            continue
        errors += _unknown(i, r, known_schools, known_pupils)
        for field, reason in problems(r.assessment, r.component, r.value):
            errors.append(FieldError(i, field, reason, getattr(r, field)))
    errors += duplicates(records, lambda r: (r.pupil_id, r.academic_year, r.assessment, r.component), "component")
    return errors


def check_statutory_scope(scope: StatutoryLockScope, known_schools: Collection[str]) -> list[FieldError]:
    if scope.school_id not in known_schools:
        return [FieldError(None, "school_id", "unknown school for this Trust", scope.school_id)]
    return []


def _period_reason(calendar: PeriodCalendar) -> str:
    return f"not an assessment period of this Trust (expected one of {', '.join(calendar.periods)})"


R = TypeVar("R")


def duplicates(records: Sequence[R | None], key: Callable[[R], Hashable], field: str) -> list[FieldError]:
    """The same fact twice in one batch is ambiguous (which value wins?), so it is refused."""
    first_row: dict[Hashable, int] = {}
    errors: list[FieldError] = []
    for i, record in enumerate(records):
        if record is None:
            continue
        k = key(record)
        if k in first_row:
            errors.append(FieldError(i, field, REPEATS.format(row=first_row[k]), getattr(record, field)))
        else:
            first_row[k] = i
    return errors
