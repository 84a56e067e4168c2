"""`format=csv|xlsx` on every report and dashboard: the route's JSON answer as a file.

A router whose routes are reports uses `ExportableRoute` as its `route_class`; each of its routes
then takes the `format` query parameter (one shared dependency, `export_format`; JSON stays the
default) and documents the CSV and Excel media types. A route is written as if JSON were all it
answers: its answer is turned into a table (`domain.tables.tabulate`, generic over the response
models) and written (`adapters.table_files`) after the route has answered, so the file has the
very rows and figures of the JSON, and a new report gets its exports with no code of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from tidemark_gateway.adapters.table_files import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, write_csv, write_xlsx
from tidemark_gateway.domain.tables import Cell, Table, tabulate
from tidemark_identity.domain.audit import Action
from tidemark_runtime.auth import GuardedRoute


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


FORMAT_STATE = "export_format"
"""Where `export_format` leaves the format for the route's handler (`request.state`)."""


async def export_format(
    request: Request,
    format_: Annotated[
        ExportFormat,
        Query(alias="format", description="json (default); csv or xlsx: the same rows and figures as a file, with the "
              "report's period, filters and last update (CSV: after an empty row; Excel: on the sheet About)"),
    ] = ExportFormat.JSON,
) -> ExportFormat:
    """The `format` parameter of every report (an unknown one is a 422 on `format`)."""
    setattr(request.state, FORMAT_STATE, format_)
    return format_


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON, or with `format=csv` or `format=xlsx` a file of its rows "
                       "(Content-Disposition: attachment, with a file name naming the report)",
        "content": {
            CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


class ExportableRoute(GuardedRoute):
    """A report's route: answers JSON, or the same as CSV or Excel with `format` (see the module)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), Depends(export_format)]
        kwargs["responses"] = {**EXPORT_RESPONSES, **(kwargs.get("responses") or {})}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        answer = super().get_route_handler()
        report = self.name.replace("_", "-")
        title = self.summary or self.name.replace("_", " ").capitalize()

        async def answer_or_export(request: Request) -> Response:
            response = await answer(request)
            chosen = getattr(request.state, FORMAT_STATE, ExportFormat.JSON)
            if chosen is ExportFormat.JSON or response.status_code != 200:
                return response
            file = exported(json.loads(bytes(response.body)), chosen, report, title, request)
            await audited(request)
            return file

        return answer_or_export


async def audited(request: Request) -> None:
    """Record the export in the audit trail (who, which report with which filters), when accounts are on."""
    identity = request.app.state.services.identity
    if identity is not None:
        await identity.record(
            request.state.principal, Action.EXPORT, request.query_params.get("school"),
            path=request.url.path, query=str(request.query_params),
        )


def exported(document: dict[str, Any], chosen: ExportFormat, report: str, title: str, request: Request) -> Response:
    """The file of one report's JSON answer, with the request's filters in its `about` rows."""
    table = tabulate(document)
    table = Table(table.columns, table.rows, (("report", title), *table.about, *filters(request, table.about)))
    if chosen is ExportFormat.CSV:
        body, media_type = write_csv(table), f"{CSV_MEDIA_TYPE}; charset=utf-8"
    else:
        body, media_type = write_xlsx(table, title), XLSX_MEDIA_TYPE
    name = file_name(report, dict(table.about), chosen)
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def filters(request: Request, about: tuple[tuple[str, Cell], ...]) -> list[tuple[str, Cell]]:
    """The request's parameters that the answer does not state itself (school, year_group, sex, ...),
    repeated values joined; ("filters", "none") when there are none."""
    stated = {name for name, _ in about} | {"format"}
    asked: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        if name not in stated:
            asked.setdefault(name, []).append(value)
    return [(name, "; ".join(values)) for name, values in asked.items()] or [("filters", "none")]


def file_name(report: str, about: dict[str, Cell], chosen: ExportFormat) -> str:
    """`attainment-report_2025-26_AUT1.csv`: the report, then its year and period when it has them."""
    parts = [report, *(str(about[key]) for key in ("academic_year", "period") if about.get(key))]
    return re.sub(r"[^A-Za-z0-9._-]", "-", "_".join(parts)) + f".{chosen.value}"
