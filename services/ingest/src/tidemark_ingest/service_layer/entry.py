"""What the entry screens (and a tracker) read back: a school's sheet of entered results for a
selection, with each value's lock state and assessment date, checked like a lock of the same scope
(the school must be the Trust's, the period one of its calendar's, the class the school's that year).

The one read-back of what was entered: the grid draws itself from it, and its selection is the
scope its Lock and Unlock send."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tidemark_ingest.adapters.store import IngestStore
from tidemark_ingest.domain.entry import StatutorySheet, SummativeSheet, statutory_sheet, summative_sheet
from tidemark_ingest.domain.facts import ClassState, PupilState, SchoolState
from tidemark_ingest.domain.validation import FieldError, check_class, check_scope, check_statutory_scope
from tidemark_ingest.service_layer.tracker import BatchRejected
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.records import LockScope
from tidemark_schemas.statutory import StatutoryLockScope

UNKNOWN_SCHOOL = "unknown school for this Trust"


@dataclass(frozen=True, slots=True)
class Entry:
    sessions: async_sessionmaker[AsyncSession]
    calendar: PeriodCalendar
    today: Callable[[], date] = field(default=date.today)

    async def summative(self, trust_id: str, scope: LockScope) -> SummativeSheet:
        """The sheet of `scope`; 422 (BatchRejected) as its lock would be."""
        async with self.sessions() as session:
            store = IngestStore(session, trust_id)
            errors = check_scope(scope, await store.school_models(), self.calendar)
            school, classes = await _school_and_classes(store, scope, errors)
            results = await store.results_of(scope.school_id, scope.academic_year, scope.period)
            pupils = await _pupils(store, scope.school_id, [r.pupil_id for r in results])
        return summative_sheet(school, pupils, results, scope, self.today(), classes)

    async def statutory(self, trust_id: str, scope: StatutoryLockScope) -> StatutorySheet:
        """The sheet of `scope` (`assessment` required); 422 (BatchRejected) as its lock would be."""
        if scope.assessment is None:
            raise BatchRejected([FieldError(None, "assessment", "a sheet is of one assessment", None)])
        async with self.sessions() as session:
            store = IngestStore(session, trust_id)
            errors = check_statutory_scope(scope, await store.school_models())
            school, classes = await _school_and_classes(store, scope, errors)
            results = await store.statutory_of(scope.school_id, scope.academic_year, scope.assessment.value)
            pupils = await _pupils(store, scope.school_id, [r.pupil_id for r in results])
        return statutory_sheet(school, pupils, results, scope, scope.assessment, self.today(), classes)


async def _school_and_classes(
    store: IngestStore, scope: LockScope | StatutoryLockScope, errors: list[FieldError]
) -> tuple[SchoolState, list[ClassState]]:
    """The scope's school and its classes of the year; refused with every error found."""
    school = await store.school(scope.school_id)
    if errors or school is None:
        raise BatchRejected(errors or [FieldError(None, "school_id", UNKNOWN_SCHOOL, scope.school_id)])
    classes = await store.classes_of(scope.school_id, scope.academic_year)
    refused = check_class(scope.class_id, scope.school_id, scope.academic_year, {c.class_id for c in classes})
    if refused:
        raise BatchRejected(refused)
    return school, classes


async def _pupils(store: IngestStore, school_id: str, with_results: Sequence[str]) -> list[PupilState]:
    """The school's pupils, and those with a result there who have since moved school."""
    pupils = {p.pupil_id: p for p in await store.pupils_of(school_id)}
    pupils.update(await store.pupils_by_id(sorted(set(with_results) - set(pupils))))
    return list(pupils.values())
