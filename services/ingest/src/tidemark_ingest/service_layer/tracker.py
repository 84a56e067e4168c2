"""What a school tracker sends: schools, pupils, summative and statutory results, and their locks.
Each use case validates the whole batch, stores the changed facts and their events in one
transaction, and wakes the relay. Nothing from a rejected batch is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, TypeVar

from pydantic import Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tidemark_ingest.adapters.store import IngestStore
from tidemark_ingest.domain import facts
from tidemark_ingest.domain.messages import (
    Message,
    ResultChange,
    class_message,
    pupil_message,
    result_message,
    school_message,
    statutory_message,
)
from tidemark_ingest.domain.validation import (
    FieldError,
    band_of,
    check_assessments,
    check_class,
    check_classes,
    check_pupils,
    check_schools,
    check_scope,
    check_statutory,
    check_statutory_scope,
)
from tidemark_schemas.calendar import PeriodCalendar, academic_year_of
from tidemark_schemas.records import AssessmentRecord, ClassRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryRecord

T = TypeVar("T")

TrackerRecord = SchoolRecord | ClassRecord | PupilRecord | AssessmentRecord | StatutoryRecord
"""A row of a batch."""


class BatchRejected(Exception):
    """The batch breaks a rule; `errors` names every bad row, field and reason."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class BatchAccepted:
    """What a batch, a lock or an unlock changed."""

    received: Annotated[int, Field(description="Rows (or results in scope) in the request")]
    changed: Annotated[int, Field(description="Facts that changed; 0 when the same batch is sent again")]
    events: Annotated[int, Field(description="Events written to the outbox for publication")]


def _no_one_to_wake() -> None:
    """The commit hook of a tracker that publishes nothing."""


@dataclass(frozen=True, slots=True)
class Tracker:
    """The tracker's use cases over the SQL store. `on_commit` runs after every commit that wrote
    facts (the relay's wake-up, so their events go out without waiting for its poll)."""

    sessions: async_sessionmaker[AsyncSession]
    calendar: PeriodCalendar
    on_commit: Callable[[], None] = _no_one_to_wake
    today: Callable[[], date] = date.today
    """The day an entry is made (an entry sent without its assessment date records it)."""

    async def _in_transaction(self, trust_id: str, work: Callable[[IngestStore], Awaitable[T]]) -> T:
        """Run `work` in one transaction; retry if a concurrent writer inserted the same fact."""
        for attempt in range(3):
            try:
                async with self.sessions() as session, session.begin():
                    result = await work(IngestStore(session, trust_id))
            except IntegrityError:
                if attempt == 2:
                    raise
                continue
            self.on_commit()
            return result
        raise AssertionError("unreachable")

    async def in_transaction(self, trust_id: str, work: Callable[[IngestStore], Awaitable[T]]) -> T:
        """One transaction of the tracker's store for the use cases of another area (register marks),
        retried like the tracker's own, waking the relay after it commits."""
        return await self._in_transaction(trust_id, work)

    async def post_schools(self, trust_id: str, records: Sequence[SchoolRecord]) -> BatchAccepted:
        async def work(store: IngestStore) -> BatchAccepted:
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
            return BatchAccepted(len(records), len(messages), len(messages))

        return await self._in_transaction(trust_id, work)

    async def post_classes(self, trust_id: str, records: Sequence[ClassRecord]) -> BatchAccepted:
        return await self._in_transaction(trust_id, lambda store: self.store_classes(store, trust_id, records))

    async def store_classes(
        self, store: IngestStore, trust_id: str, records: Sequence[ClassRecord]
    ) -> BatchAccepted:
        """Create or change classes (`post_classes` in a transaction the caller holds, as an import's)."""
        existing = await store.classes([r.class_id for r in records], lock=True)
        errors = check_classes(records, await store.school_models(), existing)
        if errors:
            raise BatchRejected(errors)
        new, changed = _split(
            [(existing.get(r.class_id), facts.upsert_class(existing.get(r.class_id), r)) for r in records]
        )
        await store.save_classes(new, changed)
        messages = [class_message(trust_id, c) for c in new + changed]
        await store.append_outbox(messages)
        return BatchAccepted(len(records), len(messages), len(messages))

    async def post_pupils(self, trust_id: str, records: Sequence[PupilRecord]) -> BatchAccepted:
        return await self._in_transaction(trust_id, lambda store: self.store_pupils(store, trust_id, records))

    async def store_pupils(
        self, store: IngestStore, trust_id: str, records: Sequence[PupilRecord]
    ) -> BatchAccepted:
        """`post_pupils` in a transaction the caller holds (an import stores all its batches in one)."""
        today = self.today()
        classes = await store.classes([r.class_id for r in records if r.class_id is not None])
        errors = check_pupils(records, await store.school_models(), classes, today)
        if errors:
            raise BatchRejected(errors)
        existing = await store.pupils([r.pupil_id for r in records])
        class_years = {class_id: c.academic_year for class_id, c in classes.items()}
        current_year = academic_year_of(today)
        new, changed = _split([
            (existing.get(r.pupil_id), facts.upsert_pupil(existing.get(r.pupil_id), r, class_years, current_year))
            for r in records
        ])
        await store.save_pupils(new, changed)
        messages = [pupil_message(trust_id, p) for p in new + changed]
        await store.append_outbox(messages)
        return BatchAccepted(len(records), len(messages), len(messages))

    async def enter_assessments(self, trust_id: str, records: Sequence[AssessmentRecord]) -> BatchAccepted:
        return await self._in_transaction(trust_id, lambda store: self.store_assessments(store, trust_id, records))

    async def store_assessments(
        self, store: IngestStore, trust_id: str, records: Sequence[AssessmentRecord]
    ) -> BatchAccepted:
        """`enter_assessments` in a transaction the caller holds (an import stores all its batches in one)."""
        schools = await store.school_models()
        errors = check_assessments(
            records, schools, await store.pupil_ids([r.pupil_id for r in records]), self.calendar
        )
        if errors:
            raise BatchRejected(errors)
        existing = await store.results([(r.pupil_id, r.academic_year, r.period, r.subject) for r in records])
        today = self.today()
        pairs = []
        for r in records:
            before = existing.get((r.pupil_id, r.academic_year, r.period, r.subject))
            pairs.append((before, facts.enter_result(before, r, band_of(r, schools[r.school_id]), today)))
        new, changed = _split(pairs)
        await store.save_results(new, changed)
        messages: list[Message] = [result_message(trust_id, "entered", s) for s in new + changed]
        await store.append_outbox(messages)
        return BatchAccepted(len(records), len(messages), len(messages))

    async def enter_statutory(self, trust_id: str, records: Sequence[StatutoryRecord]) -> BatchAccepted:
        return await self._in_transaction(trust_id, lambda store: self.store_statutory(store, trust_id, records))

    async def store_statutory(
        self, store: IngestStore, trust_id: str, records: Sequence[StatutoryRecord]
    ) -> BatchAccepted:
        """`enter_statutory` in a transaction the caller holds (an import stores all its batches in one)."""
        errors = check_statutory(
            records, await store.school_models(), await store.pupil_ids([r.pupil_id for r in records])
        )
        if errors:
            raise BatchRejected(errors)
        keys = [(r.pupil_id, r.academic_year, r.assessment.value, r.component) for r in records]
        existing = await store.statutory_results(keys)
        today = self.today()
        new, changed = _split(
            [(existing.get(key), facts.enter_statutory(existing.get(key), r, today)) for key, r in zip(keys, records)]
        )
        await store.save_statutory(new, changed)
        messages = [statutory_message(trust_id, "entered", s) for s in new + changed]
        await store.append_outbox(messages)
        return BatchAccepted(len(records), len(messages), len(messages))

    async def referential_errors(self, trust_id: str, records: Sequence[TrackerRecord | None]) -> list[FieldError]:
        """The checks a batch of one kind would fail beyond its structural errors (read-only), so a
        refusal can name every bad row at once. `None` marks rows that are already structurally
        invalid (kept for their index)."""
        async with self.sessions() as session:
            store = IngestStore(session, trust_id)
            if any(isinstance(r, PupilRecord) for r in records):
                pupil_rows = _only(PupilRecord, records)
                classes = await store.classes([r.class_id for r in pupil_rows if r is not None and r.class_id is not None])
                return check_pupils(pupil_rows, await store.school_models(), classes, self.today())
            if any(isinstance(r, ClassRecord) for r in records):
                class_rows = _only(ClassRecord, records)
                stored = await store.classes([r.class_id for r in class_rows if r is not None])
                return check_classes(class_rows, await store.school_models(), stored)
            if any(isinstance(r, AssessmentRecord) for r in records):
                assessments = _only(AssessmentRecord, records)
                pupils = await store.pupil_ids([r.pupil_id for r in assessments if r is not None])
                return check_assessments(assessments, await store.school_models(), pupils, self.calendar)
            if any(isinstance(r, StatutoryRecord) for r in records):
                statutory = _only(StatutoryRecord, records)
                pupils = await store.pupil_ids([r.pupil_id for r in statutory if r is not None])
                return check_statutory(statutory, await store.school_models(), pupils)
            return check_schools(_only(SchoolRecord, records))

    async def lock(self, trust_id: str, scope: LockScope, actor_id: str | None = None) -> BatchAccepted:
        return await self._change_scope(trust_id, scope, "locked", actor_id)

    async def unlock(self, trust_id: str, scope: LockScope, actor_id: str | None = None) -> BatchAccepted:
        return await self._change_scope(trust_id, scope, "unlocked", actor_id)

    async def _change_scope(
        self, trust_id: str, scope: LockScope, change: ResultChange, actor_id: str | None
    ) -> BatchAccepted:
        transition = facts.lock_result if change == "locked" else facts.unlock_result

        async def work(store: IngestStore) -> BatchAccepted:
            errors = check_scope(scope, await store.school_models(), self.calendar) or await _class_errors(store, scope)
            if errors:
                raise BatchRejected(errors)
            results = await store.results_in_scope(scope)
            changed = [after for after in map(transition, results) if after is not None]
            await store.save_results([], changed)
            messages = [result_message(trust_id, change, s, actor_id) for s in changed]
            await store.append_outbox(messages)
            return BatchAccepted(len(results), len(changed), len(messages))

        return await self._in_transaction(trust_id, work)

    async def lock_statutory(
        self, trust_id: str, scope: StatutoryLockScope, actor_id: str | None = None
    ) -> BatchAccepted:
        return await self._change_statutory_scope(trust_id, scope, "locked", actor_id)

    async def unlock_statutory(
        self, trust_id: str, scope: StatutoryLockScope, actor_id: str | None = None
    ) -> BatchAccepted:
        return await self._change_statutory_scope(trust_id, scope, "unlocked", actor_id)

    async def _change_statutory_scope(
        self, trust_id: str, scope: StatutoryLockScope, change: ResultChange, actor_id: str | None
    ) -> BatchAccepted:
        transition = facts.lock_statutory if change == "locked" else facts.unlock_statutory

        async def work(store: IngestStore) -> BatchAccepted:
            errors = check_statutory_scope(scope, await store.school_models()) or await _class_errors(store, scope)
            if errors:
                raise BatchRejected(errors)
            results = await store.statutory_in_scope(scope)
            changed = [after for after in map(transition, results) if after is not None]
            await store.save_statutory([], changed)
            messages = [statutory_message(trust_id, change, s, actor_id) for s in changed]
            await store.append_outbox(messages)
            return BatchAccepted(len(results), len(changed), len(messages))

        return await self._in_transaction(trust_id, work)


async def _class_errors(store: IngestStore, scope: LockScope | StatutoryLockScope) -> list[FieldError]:
    """A scope's class, if it names one, must be the school's in that academic year."""
    if scope.class_id is None:
        return []
    classes = await store.classes_of(scope.school_id, scope.academic_year)
    return check_class(scope.class_id, scope.school_id, scope.academic_year, {c.class_id for c in classes})


def _split(pairs: list[tuple[T | None, T | None]]) -> tuple[list[T], list[T]]:
    """(before, after) pairs -> (new facts, changed facts); unchanged ones (after is None) drop out."""
    new = [after for before, after in pairs if after is not None and before is None]
    changed = [after for before, after in pairs if after is not None and before is not None]
    return new, changed


R = TypeVar("R")


def _only(kind: type[R], records: Sequence[object]) -> list[R | None]:
    """The rows of one kind, each other row (None, or not of that kind) as None: indices kept."""
    return [r if isinstance(r, kind) else None for r in records]
