"""GET /v1/board-pack: the chosen dashboards and reports of one period as one PDF (`Permission.READ_FIGURES`),
audited as an export."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator

from tidemark_gateway.adapters.board_pack import PDF_MEDIA_TYPE, write_pdf
from tidemark_gateway.domain.board_pack import SECTIONS, board_pack, check_sections, chosen_sections
from tidemark_gateway.entrypoints.deps import FiguresReader, Period, ServicesDep
from tidemark_gateway.entrypoints.exports import audited, filters
from tidemark_gateway.entrypoints.params import NOT_VISIBLE, AcademicYear, Filter
from tidemark_gateway.service_layer.attendance import AttendanceReports
from tidemark_gateway.service_layer.board_pack import BoardPacks
from tidemark_runtime.auth import GuardedRoute
from tidemark_schemas.calendar import PeriodRef

router = APIRouter(prefix="/v1", route_class=GuardedRoute, tags=["exports"],
                   responses={403: {"description": NOT_VISIBLE}})

_ONE = "(" + "|".join(SECTIONS) + ")"
Sections = Annotated[
    str,
    Query(description="Comma-separated, in any order (printed in this order): " + ", ".join(
        f"{key} ({title})" for key, title in SECTIONS.items()) + ". Default: every one",
        json_schema_extra={"pattern": f"^{_ONE}(,{_ONE})*$"}),
    AfterValidator(check_sections),
]
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The board pack (Content-Disposition: attachment)",
          "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
}


@router.get("/board-pack", response_class=Response, responses=PDF_RESPONSE)
async def board_pack_pdf(
    request: Request, built: ServicesDep, caller: FiguresReader, academic_year: AcademicYear, period: Period,
    requested: Filter, sections: Sections = ",".join(SECTIONS),
) -> Response:
    """A PDF of the chosen dashboards and reports for a period: each with its charts and its table (the
    rows and figures of its JSON, to 1 dp, small groups marked and, for the analyst role, their %
    withheld), every page headed with the Trust's name, the period, when it was made, the filters and
    the last update. Recorded in the audit trail as an export."""
    ref = PeriodRef(academic_year, period)
    packs = BoardPacks(built.reports, built.dashboards,
                       AttendanceReports(built.read_model, built.calendar, built.reports.small_groups))
    chosen = chosen_sections(sections)
    found = await packs.sections(caller, ref, requested, chosen)
    stated = (("academic_year", academic_year), ("period", period), ("sections", sections))
    shown = [(name, str(value)) for name, value in filters(request, stated)]
    trust = request.app.state.settings.trust_names.get(caller.trust_id, caller.trust_id)
    made = datetime.now(UTC).replace(microsecond=0).isoformat()
    # drawing a large Trust's pack takes a while: in a worker thread, so that other requests go on
    pdf = await asyncio.to_thread(write_pdf, board_pack(trust, academic_year, period, made, shown, found))
    await audited(request)
    name = f"board-pack_{academic_year.replace('/', '-')}_{period}.pdf"
    return Response(pdf, media_type=PDF_MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'})
