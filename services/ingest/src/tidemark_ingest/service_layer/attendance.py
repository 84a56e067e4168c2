"""Register marks from a school tracker: a day's, a week's or a year's registers. The batch is
validated whole (nothing stored on any error), the new and corrected marks and their events stored
in one transaction, and the relay woken; a re-sent mark changes nothing (no version, no event)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tidemark_ingest.adapters.attendance_store import AttendanceStore
from tidemark_ingest.adapters.store import IngestStore
from tidemark_ingest.domain import attendance
from tidemark_ingest.domain.attendance import AttendanceState, check_attendance, key_of, year_group_of
from tidemark_ingest.domain.messages import attendance_message
from tidemark_ingest.domain.validation import FieldError
from tidemark_ingest.service_layer.tracker import BatchAccepted, BatchRejected, Tracker
from tidemark_schemas.records import AttendanceRecord


@dataclass(frozen=True, slots=True)
class Attendance:
    """The register use cases, in the tracker's transactions (`Tracker._in_transaction`: one per
    batch, retried when a concurrent batch inserted the same mark). `today` dates the pupils' year
    groups (theirs in the current academic year) for marks of earlier years."""

    tracker: Tracker
    today: Callable[[], date] = field(default=date.today)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.tracker.sessions

    async def mark(self, trust_id: str, records: Sequence[AttendanceRecord]) -> BatchAccepted:
        today = self.today()

        async def work(store: IngestStore) -> BatchAccepted:
            marks = AttendanceStore(store)
            pupils = await marks.pupils([r.pupil_id for r in records])
            errors = check_attendance(records, await store.school_models(), pupils, today)
            if errors:
                raise BatchRejected(errors)
            existing = await marks.marks([key_of(r) for r in records])
            new: list[AttendanceState] = []
            changed: list[AttendanceState] = []
            for r in records:
                before = existing.get(key_of(r))
                year_group = year_group_of(pupils[r.pupil_id], r.date, today)
                assert year_group is not None  # checked: the pupil was on roll that day
                after = attendance.mark(before, r, year_group)
                if after is not None:
                    (new if before is None else changed).append(after)
            await marks.save(new, changed)
            messages = [attendance_message(trust_id, state) for state in new + changed]
            await store.append_outbox(messages)
            return BatchAccepted(len(records), len(messages), len(messages))

        return await self.tracker.in_transaction(trust_id, work)

    async def referential_errors(self, trust_id: str, records: Sequence[AttendanceRecord | None]) -> list[FieldError]:
        """The checks a batch would fail beyond its structural errors (read-only), so a refusal names
        every bad row at once; `None` marks a structurally invalid row."""
        async with self.sessions() as session:
            store = IngestStore(session, trust_id)
            pupils = await AttendanceStore(store).pupils([r.pupil_id for r in records if r is not None])
            return check_attendance(records, await store.school_models(), pupils, self.today())
