"""Live updates: which change notices (`tidemark_schemas.notices.ChangeNotice`) a caller hears of,
and which stream positions it may resume from."""

from __future__ import annotations

import re
from dataclasses import replace

from tidemark_runtime.settings import Principal
from tidemark_schemas.notices import ChangeNotice

STREAM_ID = re.compile(r"^[0-9]+(-[0-9]+)?$")
"""A Redis stream id (`1700000000000-0`), as carried in Last-Event-ID."""

LARGEST_ID_PART = 2**64 - 1
"""Both parts of a Redis stream id are unsigned 64-bit integers."""


def check_stream_id(value: str) -> str:
    """A Last-Event-ID a stream can resume from: a Redis stream id whose parts fit in 64 bits
    (Redis refuses a larger one, so it could never have been sent as an event id)."""
    if not STREAM_ID.fullmatch(value):
        raise ValueError("must be a Redis stream id such as 1700000000000-0")
    if any(int(part) > LARGEST_ID_PART for part in value.split("-")):
        raise ValueError(f"each part of a stream id is at most {LARGEST_ID_PART}")
    return value


def stream_position(stream_id: str) -> tuple[int, int]:
    """A stream id as a number pair, in the stream's order (`1-10` comes after `1-9`; an id without
    a sequence part is its time with sequence 0, as Redis reads it)."""
    milliseconds, _, sequence = stream_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def visible_part(notice: ChangeNotice, principal: Principal) -> ChangeNotice | None:
    """The notice with only the caller's schools, or None when it touches none of them."""
    schools = tuple(school for school in notice.schools if principal.may_see(school))
    return replace(notice, schools=schools) if schools else None
