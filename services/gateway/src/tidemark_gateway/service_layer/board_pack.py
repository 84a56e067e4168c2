"""The board pack (/v1/board-pack): the chosen sections' answers, from the use cases their routes
call (so each carries the same figures, small-group marking and school scope as its JSON), in
their JSON form, each with its table (`domain.tables.tabulate`, as the CSV and Excel exports)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from tidemark_gateway.domain.attendance import window_of
from tidemark_gateway.domain.board_pack import Section, section
from tidemark_gateway.domain.tables import tabulate
from tidemark_gateway.service_layer.attendance import AttendanceReports
from tidemark_gateway.service_layer.dashboards import Dashboards
from tidemark_gateway.service_layer.reports import Reports
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import PupilFilter
from tidemark_schemas.calendar import PeriodRef

ATTAINMENT_MEASURE = "rwm"
PROGRESS_MEASURE = "gld_rwm"
GAP = "disadvantaged"
GAP_SUBJECT = "rwm"
BY_SCHOOL = "school"

_SHAPES: dict[type, TypeAdapter[Any]] = {}


def as_json(answer: Any) -> dict[str, Any]:
    """An answer as its route renders it (its response model's JSON form)."""
    kind = type(answer)
    if kind not in _SHAPES:
        _SHAPES[kind] = TypeAdapter(kind)
    document: dict[str, Any] = _SHAPES[kind].dump_python(answer, mode="json")
    return document


@dataclass(frozen=True, slots=True)
class BoardPacks:
    reports: Reports
    dashboards: Dashboards
    attendance: AttendanceReports

    async def sections(
        self, caller: Principal, ref: PeriodRef, requested: PupilFilter, chosen: Sequence[str]
    ) -> list[Section]:
        """The chosen sections, in the order given (`domain.board_pack.SECTIONS` order)."""
        found = []
        for key in chosen:
            document = as_json(await self._answer(key, caller, ref, requested))
            found.append(section(key, document, tabulate(document)))
        return found

    async def _answer(self, key: str, caller: Principal, ref: PeriodRef, requested: PupilFilter) -> Any:
        year = ref.academic_year
        if key == "summative":
            return await self.dashboards.summative(caller, ref, requested)
        if key == "attainment":
            return await self.reports.attainment(caller, ref, ATTAINMENT_MEASURE, BY_SCHOOL, requested)
        if key == "progress":
            return await self.reports.progress_over_time(caller, year, PROGRESS_MEASURE, BY_SCHOOL, requested)
        if key == "gaps":
            return await self.reports.gaps(caller, year, GAP, GAP_SUBJECT, requested)
        if key == "statutory":
            return await self.dashboards.statutory(caller, year, requested)
        if key == "attendance":
            window = window_of(year, ref.period, None)
            return await self.attendance.report(caller, year, window, BY_SCHOOL, False, requested)
        raise ValueError(f"unknown section {key!r}")
