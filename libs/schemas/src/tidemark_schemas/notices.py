"""The change notice: figures of one Trust changed, for these measures at these schools.

One shape everywhere: a projection writes it to the Trust's change stream in the same atomic write
as the counters (`stream_fields`), the gateway reads it back (`from_stream`) and relays it to live
pages, and the metrics service publishes it as `AttainmentChanged` on `attainment.changes.v1`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

EVERYTHING = "*"
"""The `measures` of a notice that says every figure may have changed (a rebuild switched over)."""


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    trust_id: Annotated[str, Field(exclude=True)]
    """Never serialised: the Trust is in the key of the stream it is written to, and a reader of
    that stream (a live page) speaks for that Trust."""
    academic_year: Annotated[str, Field(description="Empty when every year may have changed (a rebuild)")]
    period: Annotated[str, Field(description="Empty for figures of a whole academic year (the statutory measures)")]
    measures: Annotated[
        tuple[str, ...],
        Field(description='The measures whose figures changed; ["schools"]: schools registered or changed; '
              '["*"]: everything (a rebuild)'),
    ]
    schools: Annotated[tuple[str, ...], Field(description="The schools whose figures changed")]

    def stream_fields(self) -> dict[str, str]:
        """The fields of the change stream entry (the Trust is in the stream's key)."""
        return {
            "academic_year": self.academic_year,
            "period": self.period,
            "measures": ",".join(self.measures),
            "schools": ",".join(self.schools),
        }

    @classmethod
    def from_stream(cls, trust_id: str, fields: Mapping[str, str]) -> ChangeNotice:
        return cls(
            trust_id,
            fields.get("academic_year", ""),
            fields.get("period", ""),
            _split(fields.get("measures", "")),
            _split(fields.get("schools", "")),
        )


def _split(joined: str) -> tuple[str, ...]:
    return tuple(part for part in joined.split(",") if part)
