"""The statutory service: its projection rules (`domain/projection.py`) run by the shared engine
as one consumer group over statutory results, pupils and summative results, publishing every
progress category that changes on the public `attainment.progress.v1`."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from tidemark_runtime.projections.engine import BatchResult
from tidemark_runtime.projections.service import ProjectionService, Publication
from tidemark_schemas import topics
from tidemark_schemas.events import ProgressCategoryChanged
from tidemark_statutory.domain.projection import STATUTORY
from tidemark_statutory.settings import StatutorySettings


def category_changes(result: BatchResult) -> Iterator[tuple[bytes, BaseModel]]:
    """Each pupil whose category changed, keyed by pupil."""
    for change in result.outputs:
        yield change.pupil_id.encode(), change


SERVICE = ProjectionService(
    rules=STATUTORY,
    title="Tidemark statutory",
    topics=(topics.STATUTORY, topics.PUPILS, topics.ASSESSMENTS),
    publication=Publication(
        topics.ATTAINMENT_PROGRESS,
        ProgressCategoryChanged,
        "Public notice: a pupil's progress category in one period changed (keyed by pupil id). "
        "Categories are stable ids (tidemark_schemas.progress.ProgressCategory). A `tidemark-statutory rebuild` "
        "re-categorises pupils (as after the matrix correction, when an expected starter now ABOVE became "
        "on_track_above instead of accelerated_above) without publishing here: re-read the categories from the "
        "gateway after one.",
        category_changes,
    ),
    settings=StatutorySettings,
    description="Applies statutory results, pupils and reading / writing / maths results to the statutory "
    "projection (measures per academic year, progress categories per period).",
)
