"""Change notices for live updates, cut down to what one caller may see."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from tidemark_runtime.settings import Principal

STREAM_ID = re.compile(r"^\d+(-\d+)?$")
"""A Redis stream id (`1700000000000-0`), as carried in Last-Event-ID."""


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """Figures of one period changed for these measures and schools (written by metrics)."""

    id: str
    academic_year: str
    period: str
    measures: tuple[str, ...]
    schools: tuple[str, ...]


def parse_notice(stream_id: str, fields: Mapping[str, str]) -> ChangeNotice:
    return ChangeNotice(
        id=stream_id,
        academic_year=fields.get("academic_year", ""),
        period=fields.get("period", ""),
        measures=_split(fields.get("measures", "")),
        schools=_split(fields.get("schools", "")),
    )


def visible_part(notice: ChangeNotice, principal: Principal) -> ChangeNotice | None:
    """The notice with only the caller's schools, or None when it touches none of them."""
    schools = tuple(school for school in notice.schools if principal.may_see(school))
    return replace(notice, schools=schools) if schools else None


def _split(joined: str) -> tuple[str, ...]:
    return tuple(part for part in joined.split(",") if part)
