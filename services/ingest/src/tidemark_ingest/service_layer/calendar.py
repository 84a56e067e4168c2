"""A Trust's own school dates: set one academic year's (validated whole, stored with its event in one
transaction; the same dates again change nothing and publish nothing), or read them (the Trust's
own, else the English default)."""

from __future__ import annotations

from dataclasses import dataclass

from tidemark_ingest.adapters.calendar_store import CalendarStore
from tidemark_ingest.adapters.store import IngestStore
from tidemark_ingest.domain import calendar
from tidemark_ingest.domain.calendar import CalendarSet, TrustCalendar
from tidemark_ingest.domain.messages import calendar_message
from tidemark_ingest.domain.validation import FieldError
from tidemark_ingest.service_layer.tracker import BatchRejected, Tracker
from tidemark_schemas.records import CalendarRecord


@dataclass(frozen=True, slots=True)
class TrustCalendars:
    """In the tracker's transactions (`Tracker.in_transaction`: retried when a concurrent request
    inserted the same year, the relay woken after the commit)."""

    tracker: Tracker

    async def set(self, trust_id: str, academic_year: str, record: CalendarRecord) -> CalendarSet:
        """Refused whole (`BatchRejected`, each field and reason) when the dates break a rule."""
        errors = record.errors(academic_year)
        if errors:
            raise BatchRejected([FieldError(None, field, reason, None) for field, reason in errors])

        async def work(store: IngestStore) -> CalendarSet:
            calendars = CalendarStore(store)
            before = await calendars.get(academic_year, for_update=True)
            after = calendar.set_dates(before, academic_year, record)
            if after is None:
                return CalendarSet(False, calendar.shown(academic_year, before))
            await calendars.save(after)
            await store.append_outbox([calendar_message(trust_id, after)])
            return CalendarSet(True, calendar.shown(academic_year, after))

        return await self.tracker.in_transaction(trust_id, work)

    async def get(self, trust_id: str, academic_year: str) -> TrustCalendar:
        async with self.tracker.sessions() as session:
            stored = await CalendarStore(IngestStore(session, trust_id)).get(academic_year)
        return calendar.shown(academic_year, stored)
