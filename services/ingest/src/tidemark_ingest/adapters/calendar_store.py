"""SQL repository of the Trusts' own school dates (`trust_calendar`), within the transaction of an
`IngestStore` (whose outbox the dates' event joins)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Table, select
from sqlalchemy.dialects.postgresql import insert

from tidemark_ingest.adapters.orm import TrustCalendarRow
from tidemark_ingest.adapters.store import IngestStore
from tidemark_schemas.events import CalendarSnapshot
from tidemark_schemas.records import CalendarRecord


def _calendar_table(row: type[Any] = TrustCalendarRow) -> Table:
    table: Table = row.__table__
    return table


TRUST_CALENDAR = _calendar_table()
CALENDAR_COLUMNS = [TRUST_CALENDAR.c.academic_year, TRUST_CALENDAR.c.dates, TRUST_CALENDAR.c.version]


def calendar_state(row: Row[Any]) -> CalendarSnapshot:
    """A `trust_calendar` row (selected as CALENDAR_COLUMNS) as its snapshot."""
    record = CalendarRecord.model_validate_json(row.dates)
    return CalendarSnapshot(academic_year=row.academic_year, half_terms=record.half_terms, closures=record.closures,
                            version=row.version)


class CalendarStore:
    """One Trust's own dates within the transaction of `store`."""

    def __init__(self, store: IngestStore) -> None:
        self.session = store.session
        self.trust_id = store.trust_id

    async def get(self, academic_year: str, for_update: bool = False) -> CalendarSnapshot | None:
        query = select(*CALENDAR_COLUMNS).where(
            TRUST_CALENDAR.c.trust_id == self.trust_id, TRUST_CALENDAR.c.academic_year == academic_year
        )
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return None if row is None else calendar_state(row)

    async def save(self, snapshot: CalendarSnapshot) -> None:
        dates = CalendarRecord(half_terms=snapshot.half_terms, closures=snapshot.closures).model_dump_json()
        values = {"trust_id": self.trust_id, "academic_year": snapshot.academic_year, "dates": dates,
                  "version": snapshot.version}
        await self.session.execute(insert(TRUST_CALENDAR).values(values).on_conflict_do_update(
            index_elements=[TRUST_CALENDAR.c.trust_id, TRUST_CALENDAR.c.academic_year],
            set_={"dates": dates, "version": snapshot.version},
        ))
