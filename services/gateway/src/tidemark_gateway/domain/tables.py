"""A report as one table (a header and rows of cells) plus what it is about: the shape every export
(CSV, Excel) writes, whatever the report.

Generic over the response models: it reads a report in its JSON form (what the API answers, so an
export carries exactly the JSON's rows and unrounded figures, under the JSON's names), never one
report's fields by name. A new report is tabulated with no code here.

The rules, applied to the report's top-level fields in order:
- a scalar, or a record that holds no number (a period, the two groups a gap compares), says what
  the report is about (`Table.about`, by its JSON path: `previous_period.period`);
- anything else is a *section* of rows, named in the `section` column: a list gives one row per
  item, a record one row (`all_pupils`), a mapping of lists one section per key (`widgets.ks2`).
Within a row, a nested record becomes columns by its path (`figures.eligible`), a list of scalars
one cell ("a; b"), and a list of records (or a mapping of lists, whose key gets its own column)
one row per item, each carrying the parent's cells (long format: `series.pct` per period).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from pydantic_core import to_jsonable_python

Cell: TypeAlias = str | int | float | bool | None
"""A cell as the JSON has it: numbers stay numbers (unrounded), None is an empty cell."""

SECTION = "section"
"""The first column: which top-level field of the report a row comes from."""

_Row: TypeAlias = dict[str, Cell]


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    about: tuple[tuple[str, Cell], ...]
    """(name, value): the report's own scalars (academic year, period, measure, last_updated, ...)."""


def tabulate(report: Any) -> Table:
    """The table of a report: a response model instance (dataclass or pydantic model) or its JSON
    (a mapping, as parsed from the API's answer)."""
    document = report if isinstance(report, Mapping) else to_jsonable_python(report)
    about: list[tuple[str, Cell]] = []
    rows: list[_Row] = []
    for name, value in document.items():
        if _is_scalar(value):
            about.append((name, value))
        elif isinstance(value, Mapping) and not _explodes(value) and not _holds_a_number(value):
            about.extend(_single(value, name).items())
        elif isinstance(value, list) and all(_is_scalar(item) for item in value) and value:
            about.append((name, _joined(value)))
        elif isinstance(value, Mapping) and _explodes(value):
            rows.extend({SECTION: f"{name}.{key}", **row} for key, items in value.items() for row in _rows(items, ""))
        else:
            rows.extend({SECTION: name, **row} for row in _rows(value, ""))
    columns = tuple(dict.fromkeys(column for row in rows for column in row)) or (SECTION,)
    return Table(columns, tuple(tuple(row.get(column) for column in columns) for row in rows), tuple(about))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _explodes(value: Any) -> bool:
    """Whether a value gives rows rather than cells: a list of records, or a mapping of lists."""
    if isinstance(value, list):
        return not value or not all(_is_scalar(item) for item in value)
    if isinstance(value, Mapping):
        return bool(value) and all(isinstance(item, list) for item in value.values())
    return False


def _holds_a_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, Mapping):
        return any(_holds_a_number(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_a_number(item) for item in value)
    return False


def _joined(values: Sequence[Any]) -> str:
    return "; ".join("" if value is None else str(value) for value in values)


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _single(value: Any, prefix: str) -> _Row:
    """The cells of a value that gives one row (a scalar, a record, a list of scalars)."""
    [row] = _rows(value, prefix)
    return row


def _rows(value: Any, prefix: str) -> list[_Row]:
    if isinstance(value, list):
        if value and all(_is_scalar(item) for item in value):
            return [{prefix: _joined(value)}]
        return [row for item in value for row in _rows(item, prefix)]
    if isinstance(value, Mapping):
        if _explodes(value):
            return [{prefix: key, **row} for key, items in value.items() for row in _rows(items, prefix)]
        cells: _Row = {}
        exploded: list[_Row] = []
        for name, item in value.items():
            if _explodes(item):
                exploded.extend(_rows(item, _path(prefix, name)))
            else:
                cells.update(_single(item, _path(prefix, name)))
        return [{**cells, **row} for row in exploded] if exploded else [cells]
    return [{prefix: value}]
