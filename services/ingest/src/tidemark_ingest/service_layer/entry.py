"""What the entry screens read back: a school's sheet of entered results (summative or statutory)
with each value's lock state, checked like a lock of the same scope (the school must be the Trust's,
the period one of its calendar's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tidemark_ingest.adapters.store import IngestStore
from tidemark_ingest.domain.entry import StatutorySheet, SummativeSheet, statutory_sheet, summative_sheet
from tidemark_ingest.domain.validation import FieldError, check_scope, check_statutory_scope
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
        """The sheet of `scope` (its year group required); 422 (BatchRejected) as its lock would be."""
        if scope.year_group is None:
            raise BatchRejected([FieldError(None, "year_group", "a sheet is of one year group", None)])
        async with self.sessions() as session:
            store = IngestStore(session, trust_id)
            errors = check_scope(scope, await store.school_models(), self.calendar)
            school = await store.school(scope.school_id)
            if errors or school is None:
                raise BatchRejected(errors or [FieldError(None, "school_id", UNKNOWN_SCHOOL, scope.school_id)])
            pupils = await store.pupils_of_school(scope.school_id)
            results = await store.results_of(scope.school_id, scope.academic_year, scope.period)
            classes = await store.classes_of(scope.school_id, scope.academic_year)
        return summative_sheet(school, pupils, results, scope.academic_year, scope.period, scope.year_group,
                               self.today(), classes)

    async def statutory(self, trust_id: str, scope: StatutoryLockScope) -> StatutorySheet:
        if scope.assessment is None:
            raise BatchRejected([FieldError(None, "assessment", "a sheet is of one assessment", None)])
        async with self.sessions() as session:
            store = IngestStore(session, trust_id)
            errors = check_statutory_scope(scope, await store.school_models())
            school = await store.school(scope.school_id)
            if errors or school is None:
                raise BatchRejected(errors or [FieldError(None, "school_id", UNKNOWN_SCHOOL, scope.school_id)])
            pupils = await store.pupils_of_school(scope.school_id)
            results = await store.statutory_of(scope.school_id, scope.academic_year, scope.assessment.value)
            classes = await store.classes_of(scope.school_id, scope.academic_year)
        return statutory_sheet(school, pupils, results, scope.academic_year, scope.assessment, self.today(), classes)
