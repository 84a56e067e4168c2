"""What a reader is told of a DfE national figure shown beside the Trust's own. The reference
tables (`tidemark_schemas.statutory_national`, `tidemark_schemas.attendance_national`) key their
figures differently; the answer about one figure has one shape, which attendance extends with the
published period and phase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field


@dataclass(frozen=True, slots=True)
class NationalComparator:
    """A DfE national figure (England), with its year and source."""

    value: Annotated[float, Field(description="As published (rounded as the DfE rounds it)")]
    academic_year: Annotated[str, Field(description="The year it is for: this year's, or the latest published before")]
    source: str
    note: Annotated[str, Field(description="What to bear in mind comparing with it; empty when nothing")]
