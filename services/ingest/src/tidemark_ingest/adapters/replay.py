"""Every stored fact as the event that describes it now: the replay a projection rebuilds from.

The SQL store is the durable source, and each fact's latest snapshot carries its version, so a
projection that applies these events ends up in the same state as one that saw the whole history,
in any order, alongside live traffic. Ingest serves the replay over HTTP (`GET /v1/replay/...`,
`tidemark_schemas.replay`), so no projection needs this package or the database's credentials.

Pages follow the primary keys (keyset pagination: each page is one indexed range scan, however
deep): the Trust's own school dates (first: a projection dates what follows by them), then schools,
then classes, then pupils, then summative results (a pupil's together, period by period), then
statutory results (a pupil's together, year by year), then register marks (a pupil's together, day
by day). A projection may ask for some kinds of facts only (`FactKind`: the summative projection
reads no register marks). The cursor names the kind and the last key read; it stays valid while
facts change (a fact changed behind the cursor reaches the projection through the broker, and
versions make the two meet in any order) and when kinds are added to the replay.
"""

from __future__ import annotations

import base64
from datetime import date
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Row, Select, Table, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncEngine

from tidemark_ingest.adapters.store import (
    ASSESSMENT,
    CLASS,
    CLASS_COLUMNS,
    PUPIL,
    PUPIL_COLUMNS,
    RESULT_COLUMNS,
    SCHOOL,
    SCHOOL_COLUMNS,
    STATUTORY,
    STATUTORY_COLUMNS,
    class_state,
    pupil_state,
    result_state,
    school_state,
    statutory_state,
)
from tidemark_ingest.adapters.attendance_store import ATTENDANCE, ATTENDANCE_COLUMNS, attendance_state
from tidemark_ingest.adapters.calendar_store import CALENDAR_COLUMNS, TRUST_CALENDAR, calendar_state
from tidemark_ingest.domain.messages import (
    attendance_message,
    calendar_message,
    class_message,
    pupil_message,
    result_message,
    school_message,
    statutory_message,
)
from tidemark_schemas.replay import FactKind


class InvalidCursor(ValueError):
    """A cursor this replay did not hand out."""


@dataclass(frozen=True)
class _Source:
    kind: FactKind
    table: Table
    columns: list[Any]
    to_event: Callable[[str, Row[Any]], BaseModel]

    @property
    def key(self) -> list[ColumnElement[Any]]:
        """The primary key after the Trust: the order of the pages."""
        return [column for column in self.table.primary_key.columns if column.name != "trust_id"]

    def typed(self, key: list[Any]) -> list[Any]:
        """A key read back from a cursor (JSON: a date is its ISO string) with its columns' types."""
        return [date.fromisoformat(value) if column.type.python_type is date and isinstance(value, str) else value
                for column, value in zip(self.key, key, strict=True)]

    def page(self, trust_id: str, after: list[Any] | None, limit: int) -> Select[Any]:
        query = select(*self.columns).where(self.table.c.trust_id == trust_id)
        if after is not None:
            query = query.where(tuple_(*self.key) > tuple_(*after))
        return query.order_by(*self.key).limit(limit)


def _result_event(trust_id: str, row: Row[Any]) -> BaseModel:
    """The snapshot as a lock (when it counts) or an entry (a draft, or an unlocked result)."""
    state = result_state(row)
    return result_message(trust_id, "locked" if state.locked_band is not None else "entered", state)[2]


def _statutory_event(trust_id: str, row: Row[Any]) -> BaseModel:
    """As `_result_event`: a lock when a value counts, else an entry."""
    state = statutory_state(row)
    return statutory_message(trust_id, "locked" if state.locked is not None else "entered", state)[2]


SOURCES: tuple[_Source, ...] = (
    _Source(FactKind.CALENDARS, TRUST_CALENDAR, CALENDAR_COLUMNS,
            lambda t, row: calendar_message(t, calendar_state(row))[2]),
    _Source(FactKind.SCHOOLS, SCHOOL, SCHOOL_COLUMNS, lambda t, row: school_message(t, school_state(row))[2]),
    _Source(FactKind.CLASSES, CLASS, CLASS_COLUMNS, lambda t, row: class_message(t, class_state(row))[2]),
    _Source(FactKind.PUPILS, PUPIL, PUPIL_COLUMNS, lambda t, row: pupil_message(t, pupil_state(row))[2]),
    _Source(FactKind.RESULTS, ASSESSMENT, RESULT_COLUMNS, _result_event),
    _Source(FactKind.STATUTORY, STATUTORY, STATUTORY_COLUMNS, _statutory_event),
    _Source(FactKind.MARKS, ATTENDANCE, ATTENDANCE_COLUMNS,
            lambda t, row: attendance_message(t, attendance_state(row))[2]),
)
"""One per kind of fact, in the replay's order (`FactKind`'s)."""

_INDEX = {source.kind: index for index, source in enumerate(SOURCES)}


def encode_cursor(source: int, last_key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([SOURCES[source].kind.value, last_key])).decode()


def decode_cursor(cursor: str) -> tuple[int, list[Any]]:
    try:
        kind, last_key = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        source = _INDEX[FactKind(kind)]
        if not (isinstance(last_key, list) and len(last_key) == len(SOURCES[source].key)):
            raise ValueError
        return source, SOURCES[source].typed(last_key)
    except (ValueError, TypeError, KeyError) as error:
        raise InvalidCursor("not a cursor of this replay") from error


async def trust_ids(engine: AsyncEngine) -> list[str]:
    """Every Trust with a school or a pupil in the store."""
    query = union(select(SCHOOL.c.trust_id), select(PUPIL.c.trust_id))
    async with engine.connect() as connection:
        return sorted(row[0] for row in await connection.execute(query))


async def replay_page(
    engine: AsyncEngine, trust_id: str, cursor: str | None, limit: int, kinds: Collection[FactKind] | None = None
) -> tuple[list[BaseModel], str | None]:
    """Up to `limit` facts of one Trust after `cursor` (None: from the start), of `kinds` only (None:
    every kind), and the cursor of the next page (None after the last)."""
    source, after = decode_cursor(cursor) if cursor else (0, None)
    events: list[BaseModel] = []
    async with engine.connect() as connection:
        while source < len(SOURCES) and len(events) < limit:
            if kinds is not None and SOURCES[source].kind not in kinds:
                source, after = source + 1, None
                continue
            wanted = limit - len(events)
            rows = (await connection.execute(SOURCES[source].page(trust_id, after, wanted))).all()
            events += [SOURCES[source].to_event(trust_id, row) for row in rows]
            if len(rows) == wanted:
                last = rows[-1]._mapping
                return events, encode_cursor(source, [last[column.name] for column in SOURCES[source].key])
            source, after = source + 1, None
    return events, None
