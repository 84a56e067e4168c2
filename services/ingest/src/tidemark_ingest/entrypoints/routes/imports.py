"""Bulk import of CSV and Excel files: POST /v1/imports (upload; validated in the background),
GET /v1/imports/{id} (state and progress), GET /v1/imports/{id}/errors.csv, POST
/v1/imports/{id}/commit (store a validated import, all or nothing); GET /v1/imports/fields (what a
file's columns may feed), GET and DELETE /v1/imports/mappings (the column mappings saved per school,
kind and file shape, with which an upload without a mapping is read). Each needs `tracker:write`
(like the tracker routes), sees only its Trust's imports, and writes only the schools of the key's
scope. The rules are the tracker's (`service_layer.imports`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from tidemark_ingest.domain.import_mappings import SavedMapping
from tidemark_ingest.domain.imports import (
    DEFAULTABLE,
    CellError,
    ExpectedField,
    ImportKind,
    ImportRefused,
    ImportState,
    expected_fields,
    wide_columns,
)
from tidemark_ingest.entrypoints.deps import ServicesDep, TrackerWriter
from tidemark_ingest.entrypoints.writes import writable
from tidemark_ingest.service_layer.imports import ImportNotFound, ImportNotReady, Imports
from tidemark_runtime.auth import GuardedRoute
from tidemark_runtime.http import refusal
from tidemark_schemas.records import AcademicYear, Identifier, Period

router = APIRouter(
    prefix="/v1/imports",
    tags=["imports"],
    route_class=GuardedRoute,
    responses={404: refusal("No import of this id in the caller's Trust")},
)

ImportId = Annotated[str, Path(max_length=64, description="The id `POST /v1/imports` answered")]


async def imports(built: ServicesDep) -> Imports:
    return built.imports


ImportsDep = Annotated[Imports, Depends(imports)]


class ImportAccepted(BaseModel):
    import_id: str = Field(description="Ask `GET /v1/imports/{import_id}` for its state and progress")


class ImportStatus(BaseModel):
    """An import's state and progress. Rows are the file's rows (a row per pupil with a column per
    subject is one row however many results it holds)."""

    import_id: str
    kind: ImportKind
    filename: str | None
    state: ImportState = Field(description="validating -> invalid | ready; ready -> (commit) storing -> done | failed")
    rows_read: int = Field(description="Data rows of the file read so far")
    rows_valid: int = Field(description="Rows read that passed every check")
    rows_stored: int = Field(description="Rows stored by the commit so far (all visible once it is done)")
    error_count: int = Field(description="Every error found; `errors` holds the first 1,000, the CSV all")
    errors: list[CellError]
    errors_csv_url: str
    columns: dict[str, str | None] = Field(description="Each header of the file and the field it feeds (null: ignored)")
    mapping: dict[str, str] = Field(description="The mapping the file is read with (file header -> field; \"\": "
                                    "ignored): the upload's, or the one saved for its school and shape")
    mapping_from: Literal["upload", "saved"] | None = Field(
        description="upload: the upload's own mapping; saved: the mapping saved for its school, kind and file shape "
        "(`GET /v1/imports/mappings`); null: headers matched by name only")
    saved_mapping_id: str | None = Field(description="The saved mapping it was read with (to forget it: `DELETE "
                                         "/v1/imports/mappings/{mapping_id}`)")
    reason: str | None = Field(description="Why a failed import failed")


class ImportFields(BaseModel):
    """What the columns of a file of one kind may feed, for a mapping step."""

    kind: ImportKind
    fields: list[ExpectedField] = Field(description="The record's fields (the columns of a file of one row per "
                                        "result, or of pupils)")
    columns: list[str] = Field(description="The columns of a file of one row per pupil: a subject's (summative: "
                               "reading, E01...) or a component's (statutory: ks2_reading_test, "
                               "ks2_reading_test_mark...)")
    defaultable: list[str] = Field(description="Fields an upload may give once for a file without their column")


class SavedMappingAnswer(BaseModel):
    """A column mapping saved when an import was committed with it, for a school, kind and file shape."""

    mapping_id: str
    school_id: str
    kind: ImportKind
    headers: list[str] = Field(description="The headers of the file it was committed with")
    mapping: dict[str, str] = Field(description="File header -> field (\"\": the column is ignored)")
    updated_at: datetime = Field(description="When an import last committed with it")

    @classmethod
    def of(cls, saved: SavedMapping) -> SavedMappingAnswer:
        return cls(mapping_id=saved.mapping_id, school_id=saved.school_id, kind=saved.kind,
                   headers=list(saved.headers), mapping=dict(saved.mapping), updated_at=saved.updated_at)


def _status(found: dict[str, Any], request: Request) -> ImportStatus:
    url = str(request.url_for("import_errors", import_id=found["import_id"]).path)
    return ImportStatus(**found, errors_csv_url=url)


def _refused(field: str, reason: str, value: Any = None) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": reason, "input": value}])


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses={
    400: refusal("The body could not be read as multipart/form-data"),
    413: refusal("The file is larger than MAX_BODY_BYTES (refused as it is read, before authentication)"),
})
async def upload(
    caller: TrackerWriter,
    built: ServicesDep,
    file: Annotated[UploadFile, File(description="A CSV (UTF-8) or Excel (.xlsx) file, the first row naming the columns")],
    kind: Annotated[ImportKind, Form(description="What the rows are")],
    school_id: Annotated[Identifier | None, Form(description="For a file without a school_id column")] = None,
    academic_year: Annotated[AcademicYear | None, Form(description="For a file without an academic_year column")] = None,
    period: Annotated[Period | None, Form(description="For a file without a period column")] = None,
    mapping: Annotated[str | None, Form(
        max_length=100_000,
        description='JSON object: a file header -> the field or column it is (e.g. {"UPN": "pupil_id"}; "" ignores '
        "the column); headers naming a field (case, spaces and hyphens aside) need none. Without one, the mapping "
        "saved for the school, kind and file shape is used, if any")] = None,
) -> ImportAccepted:
    """Upload a file of classes (one row per class, `year_groups` listing what it teaches), pupils (a
    `class_id` column places each in a class), summative or statutory results (one row per result,
    or one row per pupil with a column per subject; an `assessed_on` column dates them). It is
    validated in the background; nothing is stored until it is committed. Committed with a mapping,
    the mapping is saved for the school (the upload's `school_id`, or each school of its rows), the
    kind and the file's shape, and read with the next upload of that school that brings no mapping
    of its own."""
    if school_id is not None:
        writable(caller, [school_id])
    columns = _mapping(mapping)
    content = await file.read()
    defaults = {"school_id": school_id, "academic_year": academic_year, "period": period}
    try:
        import_id = await built.imports.start(caller, content, file.filename, kind, defaults, columns)
    except ImportRefused as refused:
        raise _refused(refused.field, refused.reason) from None
    return ImportAccepted(import_id=import_id)


def _mapping(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise _refused("mapping", f"not JSON: {error}", text) from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _refused("mapping", "must be a JSON object of file header -> field name (both text)", text)
    return value


@router.get("/fields")
async def import_fields(kind: Annotated[ImportKind, Query(description="What the rows are")],
                        caller: TrackerWriter) -> ImportFields:
    """The fields and columns a file of `kind` may have (what a mapping may name), from the record
    models the rows are validated by."""
    return ImportFields(kind=kind, fields=expected_fields(kind), columns=list(wide_columns(kind)),
                        defaultable=list(DEFAULTABLE))


@router.get("/mappings")
async def saved_mappings(
    caller: TrackerWriter, imports: ImportsDep,
    school_id: Annotated[Identifier | None, Query(description="Only this school's (default: every school the "
                                                              "caller writes)")] = None,
    kind: Annotated[ImportKind | None, Query(description="Only mappings of files of this kind")] = None,
) -> list[SavedMappingAnswer]:
    """The column mappings saved for the caller's schools, the latest used first."""
    if school_id is not None:
        writable(caller, [school_id])
    return [SavedMappingAnswer.of(saved) for saved in await imports.mappings(caller, kind, school_id)]


@router.delete("/mappings/{mapping_id}", status_code=status.HTTP_204_NO_CONTENT, responses={
    404: refusal("No saved mapping of this id for a school the caller writes"),
})
async def forget_mapping(
    mapping_id: Annotated[str, Path(max_length=64, description="The `mapping_id` of a saved mapping")],
    caller: TrackerWriter, imports: ImportsDep,
) -> Response:
    """Forget a saved mapping: the school's next upload of that shape is matched by its headers again."""
    try:
        await imports.forget_mapping(caller, mapping_id)
    except ImportNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such saved mapping for a school you write") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{import_id}")
async def import_status(import_id: ImportId, caller: TrackerWriter, imports: ImportsDep,
                        request: Request) -> ImportStatus:
    """An import's state, progress and errors (the first 1,000; the CSV holds every one)."""
    return _status(await _found(imports.status(caller.trust_id, import_id)), request)


@router.get("/{import_id}/errors.csv", response_class=Response, name="import_errors", responses={
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "row, column, reason, value"},
})
async def import_errors(import_id: ImportId, caller: TrackerWriter, imports: ImportsDep) -> Response:
    """Every error of an import as CSV: row (of the file; empty for the whole file), column, reason, value."""
    body = await _found(imports.errors_csv(caller.trust_id, import_id))
    return Response(body, media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'})


@router.post("/{import_id}/commit", status_code=status.HTTP_202_ACCEPTED, responses={
    409: refusal("The import is not ready: still validating, invalid, or already committed"),
})
async def commit(import_id: ImportId, caller: TrackerWriter, imports: ImportsDep, request: Request) -> ImportStatus:
    """Store a validated import, all or nothing, through the same use cases as the tracker routes
    (facts with versions, events, the audit trail): importing the same file again changes nothing."""
    try:
        return _status(await _found(imports.commit(caller, import_id)), request)
    except ImportNotReady as not_ready:
        raise HTTPException(status.HTTP_409_CONFLICT, str(not_ready)) from None


async def _found(lookup: Any) -> Any:
    try:
        return await lookup
    except ImportNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such import in this Trust") from None

