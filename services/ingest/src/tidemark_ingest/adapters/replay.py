"""Every stored fact as the event that describes it now: what a rebuild of a read model replays.

The SQL store is the durable source (the embedded broker keeps topics in memory only), and each
fact's latest snapshot carries its version, so a consumer that applies these events ends up in
the same state as one that saw the whole history, in any order, alongside live traffic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel
from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncEngine

from tidemark_ingest.adapters.database import create_engine
from tidemark_ingest.adapters.store import (
    ASSESSMENT,
    PUPIL,
    SCHOOL,
    STATUTORY,
    STATUTORY_COLUMNS,
    statutory_state,
)
from tidemark_ingest.domain.facts import PupilState, ResultState, SchoolState, StatutoryState
from tidemark_ingest.domain.messages import pupil_message, result_message, school_message, statutory_message

CHUNK_ROWS = 5000


async def trust_ids(engine: AsyncEngine) -> list[str]:
    """Every Trust with a school or a pupil in the store."""
    query = union(select(SCHOOL.c.trust_id), select(PUPIL.c.trust_id))
    async with engine.connect() as connection:
        return sorted(row[0] for row in await connection.execute(query))


async def fact_events(engine: AsyncEngine, trust_id: str, chunk_rows: int = CHUNK_ROWS) -> AsyncIterator[list[BaseModel]]:
    """Schools, then pupils, then summative results (a pupil's together, period by period), then
    statutory results (a pupil's together, year by year), in chunks.

    Each query streams through a server-side cursor with plain SELECTs: no row locks, so ingest's
    writers never wait on a replay.
    """
    queries = (
        (select(*(SCHOOL.c[name] for name in SchoolState.__dataclass_fields__)).where(SCHOOL.c.trust_id == trust_id),
         lambda row: school_message(trust_id, SchoolState(*row))[2]),
        (select(*(PUPIL.c[name] for name in PupilState.__dataclass_fields__)).where(PUPIL.c.trust_id == trust_id),
         lambda row: pupil_message(trust_id, PupilState(*row))[2]),
        (select(*(ASSESSMENT.c[name] for name in ResultState.__dataclass_fields__))
         .where(ASSESSMENT.c.trust_id == trust_id)
         .order_by(ASSESSMENT.c.pupil_id, ASSESSMENT.c.academic_year, ASSESSMENT.c.period),
         lambda row: _result_event(trust_id, ResultState(*row))),
        (select(*STATUTORY_COLUMNS)
         .where(STATUTORY.c.trust_id == trust_id)
         .order_by(STATUTORY.c.pupil_id, STATUTORY.c.academic_year, STATUTORY.c.assessment,
                   STATUTORY.c.component),
         lambda row: _statutory_event(trust_id, statutory_state(row))),
    )
    async with engine.connect() as connection:
        for query, to_event in queries:
            result = await connection.stream(query)
            async for rows in result.partitions(chunk_rows):
                yield [to_event(row) for row in rows]


def _result_event(trust_id: str, state: ResultState) -> BaseModel:
    """The snapshot as a lock (when it counts) or an entry (a draft, or an unlocked result)."""
    return result_message(trust_id, "locked" if state.locked_band is not None else "entered", state)[2]


def _statutory_event(trust_id: str, state: StatutoryState) -> BaseModel:
    """As `_result_event`: a lock when a value counts, else an entry."""
    return statutory_message(trust_id, "locked" if state.locked is not None else "entered", state)[2]


class Replay:
    """The store as a rebuild reads it (`tidemark_runtime.rebuild.FactSource`)."""

    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url)

    async def trust_ids(self) -> list[str]:
        return await trust_ids(self._engine)

    def facts(self, trust_id: str) -> AsyncIterator[list[BaseModel]]:
        return fact_events(self._engine, trust_id)

    async def close(self) -> None:
        await self._engine.dispose()
