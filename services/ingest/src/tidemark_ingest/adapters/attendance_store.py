"""SQL repository of register marks (`attendance_mark`): bulk reads and writes with SQLAlchemy Core,
within the transaction of an `IngestStore` (whose outbox the marks' events join)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.sql.expression import bindparam

from tidemark_ingest.adapters.orm import AttendanceRow
from tidemark_ingest.adapters.store import PUPIL, PUPIL_COLUMNS, IngestStore, pupil_state
from tidemark_ingest.domain.attendance import AttendanceState, MarkKey
from tidemark_ingest.domain.facts import PupilState, values_of



def _attendance_table(row: type[Any] = AttendanceRow) -> Table:
    table: Table = row.__table__
    return table


ATTENDANCE = _attendance_table()
_FIELDS = tuple(AttendanceState.model_fields)
ATTENDANCE_COLUMNS = [ATTENDANCE.c[name] for name in _FIELDS]
"""The columns of a mark's state, in its order (read positionally)."""

_PUPILS_PER_QUERY = 400


def attendance_state(row: Row[Any]) -> AttendanceState:
    """An `attendance_mark` row (selected as ATTENDANCE_COLUMNS), as stored: no second validation."""
    return AttendanceState.model_construct(**dict(zip(_FIELDS, row)))


class AttendanceStore:
    """Register marks of one Trust within the transaction of `store`."""

    def __init__(self, store: IngestStore) -> None:
        self.session = store.session
        self.trust_id = store.trust_id

    async def pupils(self, ids: Sequence[str]) -> dict[str, PupilState]:
        """The pupils the marks are for, as stored (not locked: marks do not change them)."""
        found: dict[str, PupilState] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), _PUPILS_PER_QUERY):
            rows = await self.session.execute(select(*PUPIL_COLUMNS).where(
                PUPIL.c.trust_id == self.trust_id, PUPIL.c.pupil_id.in_(unique[start:start + _PUPILS_PER_QUERY])
            ))
            found.update({r.pupil_id: pupil_state(r) for r in rows})
        return found

    async def marks(self, keys: Sequence[MarkKey]) -> dict[MarkKey, AttendanceState]:
        """The stored marks of `keys`, locked for the transaction. Queried by pupil and the batch's
        span of dates (a register covers a day, a week or a year of few pupils), narrowed here."""
        if not keys:
            return {}
        wanted = set(keys)
        first: date = min(k[1] for k in wanted)
        last: date = max(k[1] for k in wanted)
        pupils = sorted({k[0] for k in wanted})
        found: dict[MarkKey, AttendanceState] = {}
        for start in range(0, len(pupils), _PUPILS_PER_QUERY):
            rows = await self.session.execute(
                select(*ATTENDANCE_COLUMNS).where(
                    ATTENDANCE.c.trust_id == self.trust_id,
                    ATTENDANCE.c.pupil_id.in_(pupils[start:start + _PUPILS_PER_QUERY]),
                    ATTENDANCE.c.date.between(first, last),
                ).with_for_update()
            )
            for r in rows:
                key = (r.pupil_id, r.date, r.session)
                if key in wanted:
                    found[key] = attendance_state(r)
        return found

    async def save(self, new: list[AttendanceState], changed: list[AttendanceState]) -> None:
        """Insert the new marks (one executemany: SQLAlchemy sends them as multi-row INSERTs of one
        compiled statement, the bulk path of a back-fill; a `.values(rows)` statement would be
        compiled afresh for every batch, far slower) and update the changed ones (corrections, few)."""
        if new:
            await self.session.execute(insert(ATTENDANCE), [{"trust_id": self.trust_id, **_values(s)} for s in new])
        if changed:
            await self.session.execute(
                update(ATTENDANCE).where(
                    ATTENDANCE.c.trust_id == self.trust_id, ATTENDANCE.c.pupil_id == bindparam("k_pupil_id"),
                    ATTENDANCE.c.date == bindparam("k_date"), ATTENDANCE.c.session == bindparam("k_session"),
                ).values(school_id=bindparam("school_id"), code=bindparam("code"),
                         year_group=bindparam("year_group"), version=bindparam("version")),
                [{"k_pupil_id": s.pupil_id, "k_date": s.date, "k_session": s.session.value,
                  "school_id": s.school_id, "code": s.code, "year_group": s.year_group.value, "version": s.version}
                 for s in changed],
            )


def _values(state: AttendanceState) -> dict[str, Any]:
    """The state as `attendance_mark` columns (without trust_id): enums as their values."""
    values = values_of(state)
    values["session"] = state.session.value
    values["year_group"] = state.year_group.value
    return values
