"""GET /v1/results and /v1/statutory/results: what was entered for a school, read back with each
result's assessment date, for the entry grid (a year group and/or a class of one period or year).
Needs `tracker:write` (the people and keys that enter) and a school in the caller's scope; a school
or class the Trust does not have is a 422 locating the parameter, like an invalid one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tidemark_ingest.entrypoints.deps import ServicesDep, TrackerWriter
from tidemark_ingest.entrypoints.writes import writable
from tidemark_ingest.service_layer.results import Selection, StatutoryResults, SummativeResults
from tidemark_runtime.auth import GuardedRoute
from tidemark_schemas.records import AcademicYear, Identifier, Period
from tidemark_schemas.statutory import Assessment
from tidemark_schemas.vocabulary import YearGroup

router = APIRouter(prefix="/v1", tags=["results"], route_class=GuardedRoute)

SchoolId = Annotated[Identifier, Query(description="The school (in the caller's scope: 403 otherwise)")]
Year = Annotated[AcademicYear, Query(description="Academic year, e.g. 2025/26")]
YearGroupParam = Annotated[YearGroup | None, Query(
    description="Only pupils in this year group in that academic year (and, for summative results, results "
    "of it)")]
ClassId = Annotated[Identifier | None, Query(
    description="Only pupils in this class (a class of the school in that academic year: 422 otherwise)")]


@router.get("/results")
async def summative_results(
    school_id: SchoolId,
    academic_year: Year,
    period: Annotated[Period, Query(description="Assessment period, e.g. AUT1")],
    caller: TrackerWriter,
    built: ServicesDep,
    year_group: YearGroupParam = None,
    class_id: ClassId = None,
) -> SummativeResults:
    """A school's pupils of a year group and/or class and their summative results of one period: for
    each, the draft and counted value (band and the school's code), the assessment date and the
    version. Drafts are included: this is what the teacher entered, not what counts."""
    writable(caller, [school_id])
    return await built.results.summative(caller.trust_id, Selection(school_id, academic_year, year_group, class_id),
                                         period)


@router.get("/statutory/results")
async def statutory_results(
    school_id: SchoolId,
    academic_year: Year,
    caller: TrackerWriter,
    built: ServicesDep,
    assessment: Annotated[Assessment | None, Query(description="Only this assessment (eyfs, phonics, ks1, mtc, ks2)")] = None,
    year_group: YearGroupParam = None,
    class_id: ClassId = None,
) -> StatutoryResults:
    """A school's pupils of a year group and/or class and their statutory results of one academic
    year, each component with its draft and counted value and its assessment date."""
    writable(caller, [school_id])
    return await built.results.statutory(caller.trust_id, Selection(school_id, academic_year, year_group, class_id),
                                         assessment)
