"""The `import_job` table: each bulk import's file, state and progress, one short transaction per
change, so that a status asked of any replica is the latest written; and `import_mapping`, the
column mappings saved per school, kind and file shape."""

from __future__ import annotations

import csv
import gzip
import io
import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tidemark_ingest.adapters.orm import ImportJobRow, ImportMappingRow
from tidemark_ingest.domain.import_mappings import SavedMapping, shape_of
from tidemark_ingest.domain.imports import ERRORS_SHOWN, CellError, ImportKind, ImportState

IMPORT_JOB: Table = ImportJobRow.__table__  # type: ignore[attr-defined]
IMPORT_MAPPING: Table = ImportMappingRow.__table__  # type: ignore[attr-defined]

_STATUS_COLUMNS = ("import_id", "kind", "filename", "state", "rows_read", "rows_valid", "rows_stored", "error_count",
                   "errors", "columns", "reason", "mapping", "mapping_from", "saved_mapping_id")


def errors_csv(errors: Sequence[CellError]) -> bytes:
    """Every error as CSV (row, column, reason, value), gzipped for the store."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(("row", "column", "reason", "value"))
    for e in errors:
        writer.writerow(("" if e.row is None else e.row, e.column, e.reason, "" if e.value is None else e.value))
    return gzip.compress(text.getvalue().encode(), compresslevel=5)


class ImportStore:
    """Reads and writes of import jobs, each in its own transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def create(self, **values: Any) -> None:
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            await session.execute(insert(IMPORT_JOB).values(
                state=ImportState.VALIDATING.value, rows_read=0, rows_valid=0, rows_stored=0, error_count=0,
                created_at=now, updated_at=now, **values))

    async def status(self, trust_id: str, import_id: str) -> dict[str, Any] | None:
        async with self.sessions() as session:
            row = (await session.execute(
                select(*(IMPORT_JOB.c[name] for name in _STATUS_COLUMNS)).where(
                    IMPORT_JOB.c.trust_id == trust_id, IMPORT_JOB.c.import_id == import_id)
            )).first()
        if row is None:
            return None
        found = dict(zip(_STATUS_COLUMNS, row))
        found["errors"] = json.loads(found["errors"]) if found["errors"] else []
        found["columns"] = json.loads(found["columns"]) if found["columns"] else {}
        found["mapping"] = json.loads(found["mapping"])
        return found

    async def upload(self, trust_id: str, import_id: str) -> dict[str, Any] | None:
        """The file and the settings it was uploaded with."""
        columns = ("kind", "filename", "content", "defaults", "mapping", "state")
        async with self.sessions() as session:
            row = (await session.execute(
                select(*(IMPORT_JOB.c[name] for name in columns)).where(
                    IMPORT_JOB.c.trust_id == trust_id, IMPORT_JOB.c.import_id == import_id)
            )).first()
        if row is None:
            return None
        found = dict(zip(columns, row))
        found["defaults"] = json.loads(found["defaults"])
        found["mapping"] = json.loads(found["mapping"])
        return found

    async def errors_file(self, trust_id: str, import_id: str) -> bytes | None:
        """Every error as CSV (a header only when there were none); None: no such import."""
        async with self.sessions() as session:
            row = (await session.execute(
                select(IMPORT_JOB.c.errors_csv).where(
                    IMPORT_JOB.c.trust_id == trust_id, IMPORT_JOB.c.import_id == import_id)
            )).first()
        if row is None:
            return None
        return gzip.decompress(row[0]) if row[0] else gzip.decompress(errors_csv([]))

    async def update(
        self, import_id: str, *, when: ImportState | tuple[ImportState, ...] | None = None, **values: Any
    ) -> bool:
        """Change an import (only while it is in state `when`, or one of them, if given); whether it did."""
        if "errors" in values:
            errors: Sequence[CellError] = values.pop("errors")
            values["errors"] = json.dumps([asdict(e) for e in errors[:ERRORS_SHOWN]], default=str)
            values["errors_csv"] = errors_csv(errors)
            values["error_count"] = len(errors)
        if "columns" in values:
            values["columns"] = json.dumps(values["columns"])
        if isinstance(values.get("state"), ImportState):
            values["state"] = values["state"].value
        statement = update(IMPORT_JOB).where(IMPORT_JOB.c.import_id == import_id)
        if when is not None:
            states = when if isinstance(when, tuple) else (when,)
            statement = statement.where(IMPORT_JOB.c.state.in_([state.value for state in states]))
        async with self.sessions() as session, session.begin():
            result = await session.execute(statement.values(updated_at=datetime.now(UTC), **values))
        return bool(getattr(result, "rowcount", 0))

    # -- saved column mappings ------------------------------------------------------------------

    async def saved_mappings(
        self, trust_id: str, kind: ImportKind | None = None, schools: Collection[str] | None = None
    ) -> list[SavedMapping]:
        """The Trust's saved mappings (of one kind, of some schools, when given), the latest used first."""
        statement = select(IMPORT_MAPPING).where(IMPORT_MAPPING.c.trust_id == trust_id)
        if kind is not None:
            statement = statement.where(IMPORT_MAPPING.c.kind == kind.value)
        if schools is not None:
            statement = statement.where(IMPORT_MAPPING.c.school_id.in_(list(schools)))
        async with self.sessions() as session:
            found = (await session.execute(statement.order_by(IMPORT_MAPPING.c.updated_at.desc(),
                                                              IMPORT_MAPPING.c.mapping_id))).all()
        return [_saved(row) for row in found]

    async def save_mapping(
        self, trust_id: str, schools: Sequence[str], kind: ImportKind, headers: Sequence[str],
        mapping: Mapping[str, str], actor_id: str | None,
    ) -> None:
        """Keep `mapping` for each school and the file's kind and shape (replacing the one kept for that
        shape), as used now."""
        if not schools or not mapping:
            return
        now = datetime.now(UTC)
        values = [{"mapping_id": str(uuid.uuid4()), "trust_id": trust_id, "school_id": school, "kind": kind.value,
                   "shape": shape_of(headers), "headers": json.dumps(list(headers)), "mapping": json.dumps(dict(mapping)),
                   "actor_id": actor_id, "updated_at": now} for school in schools]
        statement = upsert(IMPORT_MAPPING).values(values)
        statement = statement.on_conflict_do_update(
            constraint="uq_import_mapping_shape",
            set_={name: statement.excluded[name] for name in ("headers", "mapping", "actor_id", "updated_at")})
        async with self.sessions() as session, session.begin():
            await session.execute(statement)

    async def forget_mapping(self, trust_id: str, mapping_id: str) -> bool:
        """Delete a saved mapping of the Trust; whether there was one."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(delete(IMPORT_MAPPING).where(
                IMPORT_MAPPING.c.trust_id == trust_id, IMPORT_MAPPING.c.mapping_id == mapping_id))
        return bool(getattr(result, "rowcount", 0))

    async def mapping(self, trust_id: str, mapping_id: str) -> SavedMapping | None:
        async with self.sessions() as session:
            row = (await session.execute(select(IMPORT_MAPPING).where(
                IMPORT_MAPPING.c.trust_id == trust_id, IMPORT_MAPPING.c.mapping_id == mapping_id))).first()
        return None if row is None else _saved(row)


def _saved(row: Row[Any]) -> SavedMapping:
    return SavedMapping(mapping_id=row.mapping_id, school_id=row.school_id, kind=ImportKind(row.kind), shape=row.shape,
                        headers=tuple(json.loads(row.headers)), mapping=json.loads(row.mapping),
                        updated_at=row.updated_at)
