"""Small groups: a figure about fewer pupils than the Trust's threshold (`SMALL_GROUP_THRESHOLD`,
default 5) is flagged, since one pupil moves its % by 20 points or more, and it may identify pupils.

A row type takes part by having a `small_group` field (`SmallGroupField`, default False) and a
`group_size()` method (its % denominator); `mark_small_groups` then sets the flag on every such row
of any report, however deep, so a report needs no code of its own. With `withhold`, a small row's
figures (its floats: %, changes, gaps; the floats of its mappings of figures; its changes' text
and direction) are also withheld, and so are the figures of a record made from a small row (a gap
between two groups and its change, which would give the small group's % back): the hook for roles
that may not see them (see `service_layer.small_groups`).
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
            changes.update(_withheld(changes))
    elif withhold and any(_is_row(type(item)) and item.small_group for item in changes.values()):
        # A figure made from a small row's (a gap between two groups, and its change): withheld with it.
        changes.update(_withheld(changes))
    return dataclasses.replace(value, **changes)


WITHHELD = "withheld"
"""What a withheld change's text says (its figures are null)."""


def _withheld(fields: dict[str, Any]) -> dict[str, Any]:
    """The replacements of a withheld record's figures: its floats nulled, its change text and
    direction (they tell the figure's size or sign) neutral, each float of a mapping of figures (a
    statutory row's `figures` and `previous`) nulled and each change in it withheld; counts (ints)
    and other records (national figures) stay."""
    found: dict[str, Any] = {}
    for name, item in fields.items():
        if isinstance(item, float):
            found[name] = None
        elif name == "display" and isinstance(item, str):
            found[name] = WITHHELD
        elif name == "direction" and isinstance(item, str):
            found[name] = "none"
        elif name == "widening" and isinstance(item, bool):
            found[name] = None
        elif isinstance(item, dict):
            found[name] = {key: _withheld_item(part) for key, part in item.items()}
        elif _is_change(item):
            found[name] = _withheld_item(item)
    return found


def _withheld_item(item: Any) -> Any:
    if isinstance(item, float):
        return None
    if _is_change(item):
        return dataclasses.replace(item, **_withheld(dataclasses.asdict(item)))
    return item


def _is_change(item: Any) -> bool:
    """A change record (a figure's change on the previous one: floats and a `display` text)."""
    return (dataclasses.is_dataclass(item) and not isinstance(item, type)
            and any(field.name == "display" for field in dataclasses.fields(item)))


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
