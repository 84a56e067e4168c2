"""Use cases of the ingest API: validate a whole batch, store the changed facts and their events
in one transaction, and wake the relay. Nothing from a rejected batch is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

from tidemark_ingest.adapters.store import IngestStore
from tidemark_ingest.domain import facts
from tidemark_ingest.domain.messages import (
    Message,
    ResultChange,
    pupil_message,
    result_message,
    school_message,
    statutory_message,
)
from tidemark_ingest.domain.validation import (
    RowError,
    band_of,
    check_assessments,
    check_pupils,
    check_schools,
    check_scope,
    check_statutory,
    check_statutory_scope,
)
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryRecord

T = TypeVar("T")


class BatchRejected(Exception):
    """The batch breaks a rule; `errors` names every bad row, field and reason."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


@dataclass(frozen=True)
class Outcome:
    received: int
    changed: int
    events: int


class IngestService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        calendar: PeriodCalendar,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._calendar = calendar
        self._on_commit = on_commit

    async def _in_transaction(self, trust_id: str, work: Callable[[IngestStore], Awaitable[T]]) -> T:
        """Run `work` in one transaction; retry once if a concurrent writer inserted the same fact."""
        for attempt in range(3):
            try:
                async with self._sessions() as session, session.begin():
                    result = await work(IngestStore(session, trust_id))
            except IntegrityError:
                if attempt == 2:
                    raise
                continue
            self._on_commit()
            return result
        raise AssertionError("unreachable")

    async def post_schools(self, trust_id: str, records: Sequence[SchoolRecord]) -> Outcome:
        async def work(store: IngestStore) -> Outcome:
            errors = check_schools(records)
            if errors:
                raise BatchRejected(errors)
            existing = await store.schools([r.school_id for r in records])
            new, changed = _split(
                [(existing.get(r.school_id), facts.upsert_school(existing.get(r.school_id), r)) for r in records]
            )
            await store.save_schools(new, changed)
            messages = [school_message(trust_id, s) for s in new + changed]
            await store.append_outbox(messages)
            return Outcome(len(records), len(messages), len(messages))

        return await self._in_transaction(trust_id, work)

    async def post_pupils(self, trust_id: str, records: Sequence[PupilRecord]) -> Outcome:
        async def work(store: IngestStore) -> Outcome:
            errors = check_pupils(records, await store.school_models())
            if errors:
                raise BatchRejected(errors)
            existing = await store.pupils([r.pupil_id for r in records])
            new, changed = _split(
                [(existing.get(r.pupil_id), facts.upsert_pupil(existing.get(r.pupil_id), r)) for r in records]
            )
            await store.save_pupils(new, changed)
            messages = [pupil_message(trust_id, p) for p in new + changed]
            await store.append_outbox(messages)
            return Outcome(len(records), len(messages), len(messages))

        return await self._in_transaction(trust_id, work)

    async def enter_assessments(self, trust_id: str, records: Sequence[AssessmentRecord]) -> Outcome:
        async def work(store: IngestStore) -> Outcome:
            schools = await store.school_models()
            errors = check_assessments(
                records, schools, await store.pupil_ids([r.pupil_id for r in records]), self._calendar
            )
            if errors:
                raise BatchRejected(errors)
            existing = await store.results([(r.pupil_id, r.academic_year, r.period, r.subject) for r in records])
            pairs = []
            for r in records:
                before = existing.get((r.pupil_id, r.academic_year, r.period, r.subject))
                pairs.append((before, facts.enter_result(before, r, band_of(r, schools[r.school_id]))))
            new, changed = _split(pairs)
            await store.save_results(new, changed)
            messages: list[Message] = [result_message(trust_id, "entered", s) for s in new + changed]
            await store.append_outbox(messages)
            return Outcome(len(records), len(messages), len(messages))

        return await self._in_transaction(trust_id, work)

    async def enter_statutory(self, trust_id: str, records: Sequence[StatutoryRecord]) -> Outcome:
        async def work(store: IngestStore) -> Outcome:
            errors = check_statutory(
                records, await store.school_models(), await store.pupil_ids([r.pupil_id for r in records])
            )
            if errors:
                raise BatchRejected(errors)
            keys = [(r.pupil_id, r.academic_year, r.assessment.value, r.component) for r in records]
            existing = await store.statutory_results(keys)
            new, changed = _split(
                [(existing.get(key), facts.enter_statutory(existing.get(key), r)) for key, r in zip(keys, records)]
            )
            await store.save_statutory(new, changed)
            messages = [statutory_message(trust_id, "entered", s) for s in new + changed]
            await store.append_outbox(messages)
            return Outcome(len(records), len(messages), len(messages))

        return await self._in_transaction(trust_id, work)

    async def referential_errors(
        self,
        trust_id: str,
        records: Sequence[SchoolRecord | PupilRecord | AssessmentRecord | StatutoryRecord | None],
    ) -> list[RowError]:
        """The checks a batch would fail beyond its structural errors (read-only), so a refusal can
        name every bad row at once. `None` marks rows that are already structurally invalid."""
        valid = [r for r in records if r is not None]
        async with self._sessions() as session:
            store = IngestStore(session, trust_id)
            if not valid or isinstance(valid[0], SchoolRecord):
                return check_schools(records)  # type: ignore[arg-type]
            if isinstance(valid[0], PupilRecord):
                return check_pupils(records, await store.school_models())  # type: ignore[arg-type]
            pupil_ids = [r.pupil_id for r in valid]  # type: ignore[union-attr]
            if isinstance(valid[0], StatutoryRecord):
                return check_statutory(
                    records, await store.school_models(), await store.pupil_ids(pupil_ids)  # type: ignore[arg-type]
                )
            return check_assessments(
                records, await store.school_models(), await store.pupil_ids(pupil_ids), self._calendar  # type: ignore[arg-type]
            )

    async def lock(self, trust_id: str, scope: LockScope) -> Outcome:
        return await self._change_scope(trust_id, scope, "locked")

    async def unlock(self, trust_id: str, scope: LockScope) -> Outcome:
        return await self._change_scope(trust_id, scope, "unlocked")

    async def _change_scope(self, trust_id: str, scope: LockScope, change: str) -> Outcome:
        transition = facts.lock_result if change == "locked" else facts.unlock_result

        async def work(store: IngestStore) -> Outcome:
            errors = check_scope(scope, await store.school_models(), self._calendar)
            if errors:
                raise BatchRejected(errors)
            results = await store.results_in_scope(scope)
            changed = [after for after in map(transition, results) if after is not None]
            await store.save_results([], changed)
            messages = [result_message(trust_id, change, s) for s in changed]  # type: ignore[arg-type]
            await store.append_outbox(messages)
            return Outcome(len(results), len(changed), len(messages))

        return await self._in_transaction(trust_id, work)

    async def lock_statutory(self, trust_id: str, scope: StatutoryLockScope) -> Outcome:
        return await self._change_statutory_scope(trust_id, scope, "locked")

    async def unlock_statutory(self, trust_id: str, scope: StatutoryLockScope) -> Outcome:
        return await self._change_statutory_scope(trust_id, scope, "unlocked")

    async def _change_statutory_scope(
        self, trust_id: str, scope: StatutoryLockScope, change: ResultChange
    ) -> Outcome:
        transition = facts.lock_statutory if change == "locked" else facts.unlock_statutory

        async def work(store: IngestStore) -> Outcome:
            errors = check_statutory_scope(scope, await store.school_models())
            if errors:
                raise BatchRejected(errors)
            results = await store.statutory_in_scope(scope)
            changed = [after for after in map(transition, results) if after is not None]
            await store.save_statutory([], changed)
            messages = [statutory_message(trust_id, change, s) for s in changed]
            await store.append_outbox(messages)
            return Outcome(len(results), len(changed), len(messages))

        return await self._in_transaction(trust_id, work)


def _split(pairs: list[tuple[T | None, T | None]]) -> tuple[list[T], list[T]]:
    """(before, after) pairs -> (new facts, changed facts); unchanged ones (after is None) drop out."""
    new = [after for before, after in pairs if after is not None and before is None]
    changed = [after for before, after in pairs if after is not None and before is not None]
    return new, changed

