"""Register marks in ingest, as pure functions: the year group a mark carries, the referential
checks of a batch (an unknown pupil or school, a pupil not on roll that day, the same session
twice) and how a mark changes its fact (a later mark for the same session replaces it, the same
mark again changes nothing).

Structural checks (a school day within the academic years held, a code in force on the date) live
in the shared record, `tidemark_schemas.records.AttendanceRecord`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date

from tidemark_ingest.domain.validation import FieldError, UNKNOWN_PUPIL, duplicates
from tidemark_schemas.calendar import academic_year_of
from tidemark_schemas.events import AttendanceSnapshot, PupilSnapshot
from tidemark_schemas.records import AttendanceRecord
from tidemark_schemas.rules import year_group_on
from tidemark_schemas.vocabulary import YearGroup

AttendanceState = AttendanceSnapshot
"""A stored mark: the record, the pupil's year group in the academic year of its date, the version."""

MarkKey = tuple[str, date, str]
"""(pupil_id, date, session): what a mark is the fact of."""

def key_of(record: AttendanceRecord) -> MarkKey:
    return record.pupil_id, record.date, record.session.value


def check_attendance(
    records: Sequence[AttendanceRecord | None],
    known_schools: Collection[str],
    pupils: Mapping[str, PupilSnapshot],
    today: date,
) -> list[FieldError]:
    """Every referential problem of a batch of marks; `None` stands for a row that already failed
    structural validation (kept for its index)."""
    errors: list[FieldError] = []
    for i, r in enumerate(records):
        if r is None:
            continue
        if r.school_id not in known_schools:
            errors.append(FieldError(i, "school_id", "unknown school for this Trust", r.school_id))
        pupil = pupils.get(r.pupil_id)
        if pupil is None:
            errors.append(FieldError(i, "pupil_id", UNKNOWN_PUPIL, r.pupil_id))
            continue
        reason = not_on_roll(pupil, r.date, today)
        if reason:
            errors.append(FieldError(i, "date", reason, r.date.isoformat()))
    errors += duplicates(records, key_of, "session")
    return errors


def not_on_roll(pupil: PupilSnapshot, day: date, today: date) -> str | None:
    """Why the pupil was not on roll on `day` (None: they were): they had left, or were not yet in
    Reception (or past Year 6) in that academic year."""
    if pupil.left_on is not None and day > pupil.left_on:
        return f"pupil {pupil.pupil_id} was not on roll that day: they left on {pupil.left_on.isoformat()}"
    if year_group_of(pupil, day, today) is None:
        as_of = academic_year_of(pupil.left_on or today)
        return (f"pupil {pupil.pupil_id} was not on roll that day: in {academic_year_of(day)} they were not in "
                f"Reception to Year 6 (they are in {pupil.year_group} in {as_of})")
    return None


def year_group_of(pupil: PupilSnapshot, day: date, today: date) -> YearGroup | None:
    """The year group a pupil's mark on `day` carries: the record's year group is today's, or a
    leaver's when they left (as the tracker sends it)."""
    return year_group_on(pupil.year_group, day, pupil.left_on or today)


def mark(existing: AttendanceState | None, record: AttendanceRecord, year_group: YearGroup) -> AttendanceState | None:
    """The mark's new state, or None when it changes nothing (the same code from the same school, in
    the same year group): a re-sent register stores and publishes nothing. Validate first."""
    if existing is not None and (existing.code, existing.school_id, existing.year_group) == (
        record.code, record.school_id, year_group
    ):
        return None
    return AttendanceState.model_construct(
        pupil_id=record.pupil_id, school_id=record.school_id, date=record.date, session=record.session,
        code=record.code, year_group=year_group, version=1 if existing is None else existing.version + 1,
    )
