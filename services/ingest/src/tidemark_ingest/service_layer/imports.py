"""Bulk import of a CSV or Excel file (`POST /v1/imports`): validated in the background, then, once
committed, stored through the tracker's own use cases (`Tracker.store_*`: the same rules, facts,
versions, events and outbox as the API), all in one transaction: every row or none.

Each import is a row of `import_job` (file, settings, state and progress), so any replica answers its
status and any may commit it (the file is read again from the store there). The work runs as an
asyncio task of the process that was asked; the counters are written as it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from collections.abc import Awaitable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tidemark_identity.domain.audit import Action
from tidemark_identity.service import Identity
from tidemark_ingest.adapters.import_store import ImportStore
from tidemark_ingest.adapters.spreadsheets import Cells, UnreadableFile, is_excel, read_table
from tidemark_ingest.adapters.store import IngestStore
from tidemark_ingest.domain.import_mappings import SavedMapping, choose, for_headers, schools_to_save
from tidemark_ingest.domain.imports import (
    CellError,
    ImportKind,
    ImportRefused,
    ImportState,
    Plan,
    Rows,
    Sourced,
    batches,
    cell_errors,
    check_mapping,
    matched_columns,
    plan,
    read_rows,
    scope_errors,
    sort_errors,
)
from tidemark_ingest.service_layer.tracker import BatchAccepted, BatchRejected, Tracker
from tidemark_runtime.principal import Principal
from tidemark_schemas.records import AssessmentRecord, ClassRecord, PupilRecord
from tidemark_schemas.statutory import StatutoryRecord

log = logging.getLogger(__name__)

READ_CHUNK = 5_000
"""File rows read and validated between two progress writes (and two turns of the event loop)."""
STORE_BATCH = 10_000
"""Records per tracker batch when storing (one file row's records are never split)."""


UNDER_WAY = (ImportState.VALIDATING, ImportState.STORING)
"""The states of an import whose work is running: the only ones a stop or an error may end as failed
(a stop that comes after the work stored the import and marked it done leaves it done)."""

_FORGET_FILE: dict[str, Any] = {"content": b""}
"""An import that can no longer be committed (invalid, done, failed) keeps no copy of its file: pupils'
data stays only where it belongs (its status and errors stay)."""


class ImportNotFound(LookupError):
    """No import of that id in the caller's Trust."""


class ImportNotReady(RuntimeError):
    """Only a validated import (`ready`) can be committed; the message says what state it is in."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """A file read and validated: its plan, records and errors (file-level errors: no plan), and each
    header's field (also when the file could not be planned)."""

    plan: Plan | None
    rows: Rows
    rows_read: int
    columns: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Imports:
    """The import use cases. `max_rows`: the most data rows a file may have (IMPORT_MAX_ROWS)."""

    tracker: Tracker
    identity: Identity
    store: ImportStore
    max_rows: int
    store_batch: int = STORE_BATCH
    _running: set[asyncio.Task[None]] = field(default_factory=set)

    # -- the use cases -------------------------------------------------------------------------

    async def start(
        self,
        caller: Principal,
        content: bytes,
        filename: str | None,
        kind: ImportKind,
        defaults: Mapping[str, str | None],
        mapping: Mapping[str, str],
    ) -> str:
        """Check what can be checked at once (the mapping, that the file can be read, its row count
        against the limit: `ImportRefused`), store the upload, start validating it; its id. An upload
        without a mapping of its own is read with the mapping saved for its school, kind and shape,
        when there is one (`domain.import_mappings.choose`)."""
        check_mapping(kind, mapping)
        headers, first_row = await asyncio.to_thread(self._check_readable, content, filename)
        mapping_from: str | None = "upload" if mapping else None
        saved = None
        if not mapping:
            saved = choose(await self.store.saved_mappings(caller.trust_id, kind, caller.schools), kind, headers,
                           first_row, defaults.get("school_id"))
            if saved is not None:
                mapping, mapping_from = for_headers(saved.mapping, headers), "saved"
        import_id = str(uuid.uuid4())
        await self.store.create(
            import_id=import_id, trust_id=caller.trust_id, kind=kind.value, filename=filename, content=content,
            defaults=json.dumps({k: v for k, v in defaults.items() if v}), mapping=json.dumps(dict(mapping)),
            mapping_from=mapping_from, saved_mapping_id=saved.mapping_id if saved else None, actor_id=caller.actor_id,
        )
        self._spawn(self._validate(caller, import_id), import_id)
        return import_id

    async def mappings(self, caller: Principal, kind: ImportKind | None, school_id: str | None) -> list[SavedMapping]:
        """The mappings saved for the caller's schools (of one school and kind, when given)."""
        schools: frozenset[str] | None = caller.schools if school_id is None else frozenset({school_id})
        return await self.store.saved_mappings(caller.trust_id, kind, schools)

    async def forget_mapping(self, caller: Principal, mapping_id: str) -> SavedMapping:
        """Delete a saved mapping (of a school the caller writes: `ImportNotFound` otherwise), in the
        audit trail with what it mapped (the trail keeps what the table no longer does)."""
        found = await self.store.mapping(caller.trust_id, mapping_id)
        if found is None or (caller.schools is not None and found.school_id not in caller.schools):
            raise ImportNotFound(mapping_id)
        await self.store.forget_mapping(caller.trust_id, mapping_id)
        await self.identity.record(caller, Action.MAPPING_FORGOTTEN, found.school_id,
                                   request=f"/v1/imports/mappings/{mapping_id}", mapping_id=mapping_id,
                                   kind=found.kind, headers=list(found.headers), mapping=dict(found.mapping))
        return found

    async def status(self, trust_id: str, import_id: str) -> dict[str, Any]:
        found = await self.store.status(trust_id, import_id)
        if found is None:
            raise ImportNotFound(import_id)
        return found

    async def errors_csv(self, trust_id: str, import_id: str) -> bytes:
        found = await self.store.errors_file(trust_id, import_id)
        if found is None:
            raise ImportNotFound(import_id)
        return found

    async def commit(self, caller: Principal, import_id: str) -> dict[str, Any]:
        """Start storing a validated import (`ready` -> `storing`, claimed once whoever asks)."""
        upload = await self.store.upload(caller.trust_id, import_id)
        if upload is None:
            raise ImportNotFound(import_id)
        if not await self.store.update(import_id, when=ImportState.READY, state=ImportState.STORING, rows_stored=0):
            state = (await self.status(caller.trust_id, import_id))["state"]
            raise ImportNotReady(f"the import is {state}: only a ready (validated) import can be committed")
        self._spawn(self._store(caller, import_id, upload), import_id)
        return await self.status(caller.trust_id, import_id)

    async def stop(self) -> None:
        """Cancel the imports still running (at shutdown): each is marked failed."""
        for task in list(self._running):
            task.cancel()
        if self._running:
            await asyncio.wait(list(self._running))

    # -- the background work -------------------------------------------------------------------

    def _spawn(self, work: Awaitable[None], import_id: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:  # only an import still under way: a stored one stays done
                await self.store.update(import_id, when=UNDER_WAY, state=ImportState.FAILED, **_FORGET_FILE,
                                        reason="ingest stopped before the import finished: upload the file again")
                raise
            except Exception as error:  # noqa: BLE001 - recorded on the import, not lost in a task
                log.exception("import %s failed", import_id)
                await self.store.update(import_id, when=UNDER_WAY, state=ImportState.FAILED,
                                        reason=f"{type(error).__name__}: {error}", **_FORGET_FILE)

        task = asyncio.create_task(guarded(), name=f"import-{import_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _validate(self, caller: Principal, import_id: str) -> None:
        upload = await self.store.upload(caller.trust_id, import_id)
        assert upload is not None
        parsed = await self._parse(caller, import_id, upload)
        errors = sort_errors(parsed.rows.errors)
        state = ImportState.INVALID if errors else ImportState.READY
        await self.store.update(import_id, state=state, rows_read=parsed.rows_read, rows_valid=parsed.rows.valid_rows,
                                errors=errors, columns=parsed.plan.columns if parsed.plan else parsed.columns,
                                **_FORGET_FILE if errors else {})
        if errors:
            await self._audit(caller, import_id, upload["kind"], accepted=False, rows=parsed.rows_read,
                              errors=len(errors))

    async def _parse(self, caller: Principal, import_id: str, upload: Mapping[str, Any]) -> Parsed:
        """Read the file in chunks (progress written after each), validate every row by the record
        model, then the whole file by the tracker's referential checks and the key's school scope."""
        kind = ImportKind(upload["kind"])
        try:
            table = read_table(upload["content"], upload["filename"])
        except UnreadableFile as error:
            return Parsed(None, Rows(errors=[CellError(None, "file", str(error))]), 0)
        the_plan = plan(kind, table.headers, upload["mapping"], upload["defaults"])
        if isinstance(the_plan, list):
            return Parsed(None, Rows(errors=the_plan), 0, matched_columns(kind, table.headers, upload["mapping"]))
        rows = Rows()
        read = 0
        try:
            for chunk in _chunked(table.rows, READ_CHUNK):
                if read + len(chunk) > self.max_rows:
                    limit = CellError(None, "file", f"the file has more than {self.max_rows} rows (IMPORT_MAX_ROWS): "
                                      "split it")
                    return Parsed(the_plan, Rows(errors=[limit]), read)
                part = read_rows(the_plan, chunk)
                rows.records.extend(part.records)
                rows.errors.extend(part.errors)
                rows.valid_rows += part.valid_rows
                read += len(chunk)
                await self.store.update(import_id, rows_read=read, rows_valid=rows.valid_rows)
        except UnreadableFile as error:
            return Parsed(the_plan, Rows(errors=[CellError(None, "file", str(error))]), read)
        bad = scope_errors(rows.records, caller.schools, the_plan)
        records = [record for record, _ in rows.records]
        bad += cell_errors(await self.tracker.referential_errors(caller.trust_id, records), rows.records, the_plan)
        if bad:
            rows.errors.extend(bad)
            rows.valid_rows -= len({e.row for e in bad})
        return Parsed(the_plan, rows, read)

    async def _store(self, caller: Principal, import_id: str, upload: Mapping[str, Any]) -> None:
        """Store every record through the tracker's use cases in one transaction, batch by batch,
        writing `rows_stored` after each batch (visible to all once the transaction commits)."""
        parsed = await self._parse(caller, import_id, upload)
        if parsed.rows.errors:  # the Trust changed since it was validated (or another key commits it)
            await self.store.update(import_id, state=ImportState.FAILED, errors=sort_errors(parsed.rows.errors),
                                    reason="the file no longer validates: nothing was stored", **_FORGET_FILE)
            await self._audit(caller, import_id, upload["kind"], accepted=False, rows=parsed.rows_read,
                              errors=len(parsed.rows.errors))
            return
        sources = parsed.rows.records
        assert parsed.plan is not None
        the_plan = parsed.plan

        async def work(store: IngestStore) -> tuple[int, int]:
            stored = changed = offset = 0
            for batch, rows in batches(sources, self.store_batch):
                try:
                    accepted = await self._store_batch(store, caller.trust_id, batch)
                except BatchRejected as rejected:
                    raise _Rejected(cell_errors(rejected.errors, sources[offset:offset + len(batch)], the_plan)) \
                        from None
                offset += len(batch)
                stored += rows
                changed += accepted.changed
                await self.store.update(import_id, rows_stored=stored)
            return stored, changed

        try:
            stored, changed = await self.tracker.in_transaction(caller.trust_id, work)
        except _Rejected as rejected:
            await self.store.update(import_id, state=ImportState.FAILED, rows_stored=0, errors=rejected.errors,
                                    reason="a row no longer validates: nothing was stored", **_FORGET_FILE)
            await self._audit(caller, import_id, upload["kind"], accepted=False, rows=parsed.rows_read,
                              errors=len(rejected.errors))
            return
        await self.store.update(import_id, state=ImportState.DONE, rows_stored=parsed.rows.valid_rows, **_FORGET_FILE)
        await self.store.save_mapping(
            caller.trust_id, schools_to_save(upload["defaults"].get("school_id"), [r.school_id for r, _ in sources]),
            ImportKind(upload["kind"]), the_plan.headers, upload["mapping"], caller.actor_id)
        await self._audit(caller, import_id, upload["kind"], accepted=True, rows=parsed.rows_read,
                          results=len(sources), changed=changed)
        log.info("import %s stored %d rows (%d facts changed)", import_id, stored, changed)

    async def _store_batch(self, store: IngestStore, trust_id: str, batch: list[Any]) -> BatchAccepted:
        first = batch[0]
        if isinstance(first, PupilRecord):
            return await self.tracker.store_pupils(store, trust_id, batch)
        if isinstance(first, ClassRecord):
            return await self.tracker.store_classes(store, trust_id, batch)
        if isinstance(first, AssessmentRecord):
            return await self.tracker.store_assessments(store, trust_id, batch)
        assert isinstance(first, StatutoryRecord)
        return await self.tracker.store_statutory(store, trust_id, batch)

    async def _audit(self, caller: Principal, import_id: str, kind: str, **detail: Any) -> None:
        await self.identity.record(caller, Action.IMPORT, None, request="/v1/imports", import_id=import_id, kind=kind,
                                   **detail)

    def _check_readable(self, content: bytes, filename: str | None) -> tuple[list[str], Cells | None]:
        """The file opens and has a header; a file whose rows plainly exceed the limit is refused now.
        Its headers and first data row (None: none, or it cannot be read: the validation reports it)."""
        try:
            table = read_table(content, filename)
        except UnreadableFile as error:
            raise ImportRefused("file", str(error)) from None
        if not any(h.strip() for h in table.headers):
            raise ImportRefused("file", "the first row must name the columns; it is blank")
        first_row: Cells | None = None
        peeked = 0
        with contextlib.suppress(UnreadableFile):  # a broken row is the validation's to report
            for _, cells in table.rows:
                peeked += 1
                if any(cells):
                    first_row = cells
                    break
        too_many = ImportRefused("file", f"the file has more than {self.max_rows} rows (IMPORT_MAX_ROWS): split it")
        if is_excel(content, filename):
            if table.declared_rows is not None and table.declared_rows > self.max_rows + 1:
                raise too_many
            return table.headers, first_row
        if content.count(b"\n") <= self.max_rows + 1:
            return table.headers, first_row
        with contextlib.suppress(UnreadableFile):
            rest = sum(1 for _ in itertools.islice(table.rows, max(0, self.max_rows + 1 - peeked)))
            if peeked + rest > self.max_rows:
                raise too_many
        return table.headers, first_row


class _Rejected(Exception):
    def __init__(self, errors: list[CellError]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def _chunked(rows: Iterator[tuple[int, Cells]], size: int) -> Iterator[list[tuple[int, Cells]]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk

