"""Small groups: a figure about fewer pupils than the Trust's threshold (`SMALL_GROUP_THRESHOLD`,
default 5) is flagged, since one pupil moves its % by 20 points or more, and it may identify pupils.

A row type takes part by having a `small_group` field (`SmallGroupField`, default False) and a
`group_size()` method (its % denominator); `mark_small_groups` then sets the flag on every such row
of any report, however deep, so a report needs no code of its own. With `withhold`, a small row's
unrounded figures (its floats: %, changes, gaps, and the floats of its mappings of figures) are also
replaced by null: the hook for roles that may not see them (see `service_layer.small_groups`).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import Field

DEFAULT_THRESHOLD = 5

SmallGroupField = Annotated[
    bool,
    Field(description="Fewer pupils than the Trust's SMALL_GROUP_THRESHOLD (default 5), but at least one: show the "
          "count and a 'small group' marker rather than the % as a headline"),
]

T = TypeVar("T")


class Sized(Protocol):
    small_group: bool

    def group_size(self) -> int: ...


def is_small(pupils: int, threshold: int) -> bool:
    """A group of 1 to threshold - 1 pupils; no pupils is no data, not a small group."""
    return 0 < pupils < threshold


def mark_small_groups(report: T, threshold: int, *, withhold: bool = False) -> T:
    """`report` with `small_group` set on each row of a type that has it (and, with `withhold`, the
    floats of the small ones nulled). Rows are frozen dataclasses: changed ones are replaced."""
    return typing.cast(T, _marked(report, threshold, withhold))


def _marked(value: Any, threshold: int, withhold: bool) -> Any:
    if isinstance(value, list):
        if not value or not _reaches_rows(type(value[0])):
            return value
        return [_marked(item, threshold, withhold) for item in value]
    if isinstance(value, dict):
        return {key: _marked(item, threshold, withhold) for key, item in value.items()}
    if not dataclasses.is_dataclass(value) or isinstance(value, type) or not _reaches_rows(type(value)):
        return value
    changes = {
        field.name: _marked(getattr(value, field.name), threshold, withhold)
        for field in dataclasses.fields(value)
        if field.name != "small_group"
    }
    if _is_row(type(value)):
        small = is_small(typing.cast(Sized, value).group_size(), threshold)
        changes["small_group"] = small
        if small and withhold:
            changes.update({name: _without_floats(item) for name, item in changes.items()
                            if isinstance(item, float | dict)})
    return dataclasses.replace(value, **changes)


def _without_floats(value: Any) -> Any:
    """A withheld figure: a float is nulled, and so is each float of a mapping of figures (a statutory
    row's `figures` and `previous`); counts (ints) and records in it (national figures) stay."""
    if isinstance(value, float):
        return None
    return {key: None if isinstance(item, float) else item for key, item in value.items()}


def _is_row(cls: type) -> bool:
    return dataclasses.is_dataclass(cls) and any(field.name == "small_group" for field in dataclasses.fields(cls))


_REACHES_ROWS: dict[type, bool] = {}


def _reaches_rows(cls: type) -> bool:
    """Whether a value of `cls` is, or may hold, a row with `small_group` (from the type hints, once
    per type: a long pupil list is not walked)."""
    if cls not in _REACHES_ROWS:
        _REACHES_ROWS[cls] = _is_row(cls) or (dataclasses.is_dataclass(cls) and _hints_reach_rows(cls))
    return _REACHES_ROWS[cls]


def _hints_reach_rows(cls: type) -> bool:
    try:
        hints = typing.get_type_hints(cls)
    except NameError:  # a hint only a type checker can resolve: walk the values instead
        return True
    return any(_hint_reaches_rows(hints[field.name]) for field in dataclasses.fields(cls))


def _hint_reaches_rows(hint: Any) -> bool:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _reaches_rows(hint)
    return any(_hint_reaches_rows(arg) for arg in typing.get_args(hint))
