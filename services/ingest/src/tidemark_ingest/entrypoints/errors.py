"""How ingest answers what it refuses. A tracker request (a route documenting its 422 as
`BatchRefused`) is refused whole, naming every bad row, field and reason; any other refusal of its
input is FastAPI's own 422. Answers that echo input are `SafeJSONResponse`s, so any text a client
sent can be encoded."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, get_args

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

from tidemark_identity.domain.audit import Action
from tidemark_ingest.bootstrap import Services
from tidemark_ingest.domain.validation import FieldError
from tidemark_ingest.service_layer.tracker import BatchRejected, TrackerRecord
from tidemark_runtime.auth import Permission, permissions_of
from tidemark_runtime.http import SafeJSONResponse
from tidemark_runtime.settings import Principal
from tidemark_schemas.records import AttendanceRecord

REFUSED_WHOLE = "the batch was rejected whole; nothing from it was stored"


class BatchRefused(BaseModel):
    """The body of a refused tracker request (422)."""

    detail: str
    errors: list[FieldError]


BATCH_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"model": BatchRefused, "description": "The batch was rejected whole"},
}
"""The `responses` of a tracker route: its 422 answers are `BatchRefused`."""


def refused(errors: list[FieldError]) -> Response:
    body = BatchRefused(detail=REFUSED_WHOLE, errors=errors)
    return SafeJSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def invalid_request(request: Request, error: RequestValidationError) -> Response:
    """A tracker request's structural errors, plus the referential errors of the rows that are
    structurally fine (so one answer names every bad row); other routes' as FastAPI words them."""
    route = request.scope.get("route")
    if not (isinstance(route, APIRoute) and route.responses.get(422, {}).get("model") is BatchRefused):
        return SafeJSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                                content={"detail": jsonable_encoder(error.errors())})
    errors = structural_errors(error)
    rows = _rows_of(route)
    caller = _caller(request)
    # Rows are checked further only when every error is a row's: not for a body that is no list or
    # one over the row limit, whose rows were never validated.
    if rows is not None and caller is not None and isinstance(error.body, list) and all(
        e.row is not None for e in errors
    ):
        bad_rows = {e.row for e in errors}
        valid: list[TrackerRecord | AttendanceRecord | None] = []
        for i, raw in enumerate(error.body):
            try:
                valid.append(None if i in bad_rows else rows.validate_python(raw))
            except ValidationError:
                valid.append(None)
        services: Services = request.app.state.services
        if any(isinstance(r, AttendanceRecord) for r in valid):
            errors += await services.attendance.referential_errors(caller.trust_id, _only_marks(valid))
        else:
            errors += await services.tracker.referential_errors(
                caller.trust_id, [None if isinstance(r, AttendanceRecord) else r for r in valid])
    errors.sort(key=lambda e: (-1 if e.row is None else e.row, e.field))
    if caller is not None:  # a batch refused before its route ran: recorded here (the route records the others)
        services = request.app.state.services
        await services.identity.record(
            caller, Action.BATCH, request=request.url.path, accepted=False,
            rows=len(error.body) if isinstance(error.body, list) else None, errors=len(errors),
        )
    return refused(errors)


def structural_errors(error: RequestValidationError) -> list[FieldError]:
    """FastAPI locations look like ("body", 3, "band"): row 3, field band. A body that is no JSON
    is located at ("body", character): an error of the body, not of a row."""
    errors = []
    for item in error.errors():
        if item["type"] == "json_invalid":
            at = f" at character {item['loc'][-1]}" if isinstance(item["loc"][-1], int) else ""
            detail = f": {item['ctx']['error']}" if "error" in item.get("ctx", {}) else ""
            errors.append(FieldError(None, "(body)", f"{item['msg']}{at}{detail}", None))
            continue
        location = [part for part in item["loc"] if part != "body"]
        row = location.pop(0) if location and isinstance(location[0], int) else None
        field = ".".join(str(part) for part in location) or "(body)"
        reason = item["msg"].removeprefix("Value error, ")
        value = item.get("input") if not isinstance(item.get("input"), dict | list) else None
        errors.append(FieldError(row, field, reason, value))
    return errors


@functools.cache
def _row_adapter(row_type: type[TrackerRecord | AttendanceRecord]) -> TypeAdapter[TrackerRecord | AttendanceRecord]:
    return TypeAdapter(row_type)


def _only_marks(rows: list[TrackerRecord | AttendanceRecord | None]) -> list[AttendanceRecord | None]:
    return [r if isinstance(r, AttendanceRecord) else None for r in rows]


def _rows_of(route: APIRoute) -> TypeAdapter[TrackerRecord | AttendanceRecord] | None:
    """The row type of a batch route (a `Batch[...]` body), None for a single-object body."""
    if route.body_field is None:
        return None
    row_types = get_args(route.body_field.field_info.annotation)
    return _row_adapter(row_types[0]) if row_types else None


def _caller(request: Request) -> Principal | None:
    """The caller, when it may write tracker data (always, once a tracker route validates a body:
    FastAPI checks the route's dependencies first, and the check keeps the caller on the request)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or Permission.WRITE_TRACKER not in permissions_of(principal):
        return None
    return principal


async def batch_rejected(_request: Request, error: BatchRejected) -> Response:
    return refused(error.errors)


EXCEPTION_HANDLERS: dict[int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]] = {
    RequestValidationError: invalid_request,
    BatchRejected: batch_rejected,
}
