"""The board pack: chosen dashboards and reports of one period, as what a PDF shows (no I/O here).

Each section is one report or dashboard answer, the very one its route answers (same use case, same
small-group marking and withholding, same school scope), as charts drawn from its figures and as
its table (`tables.tabulate`, the table the CSV and Excel exports write). The adapter
(`adapters.board_pack`) lays it out; nothing here knows about pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from tidemark_gateway.domain.tables import Cell, Table

SECTIONS: dict[str, str] = {
    "summative": "Summative Dashboard",
    "attainment": "Primary Subjects: Combined RWM by school",
    "progress": "Progress Over Time",
    "gaps": "Diminishing the Difference (Disadvantaged)",
    "statutory": "Statutory Dashboard",
    "attendance": "Attendance by school",
}
"""The sections a board pack may have, in the order it prints them, with their titles."""

SMALL_GROUP = "small group"
"""What a bar of a small group says beside its label (its % is drawn only for roles that may see it)."""


def chosen_sections(value: str) -> tuple[str, ...]:
    """The sections a comma-separated list names, in `SECTIONS` order (a ValueError names a wrong one)."""
    chosen = [part.strip() for part in value.split(",")]
    unknown = [part for part in chosen if part not in SECTIONS]
    if unknown:
        expected = ", ".join(SECTIONS)
        raise ValueError(f"unknown section {unknown[0]!r}; expected a comma-separated list of {expected}")
    return tuple(key for key in SECTIONS if key in chosen)


def check_sections(value: str) -> str:
    """Validator of the `sections` parameter (see `chosen_sections`)."""
    chosen_sections(value)
    return value


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float | None
    """The unrounded %; None without data, or withheld (a small group, for a role that may not see it)."""
    n: int
    small_group: bool = False


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    values: tuple[float | None, ...]
    """One per category of the chart (None: no point there)."""


@dataclass(frozen=True, slots=True)
class LineChart:
    title: str
    categories: tuple[str, ...]
    lines: tuple[Line, ...]


Chart: TypeAlias = BarChart | LineChart


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    charts: tuple[Chart, ...]
    table: Table


@dataclass(frozen=True, slots=True)
class BoardPack:
    trust: str
    academic_year: str
    period: str
    made_at: str
    """When the pack was made (ISO timestamp)."""
    last_updated: str | None
    """The latest "last updated" of its sections."""
    filters: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]


def section(key: str, document: Mapping[str, Any], table: Table) -> Section:
    """One section from its report's JSON (as the API answers it) and the table of that JSON."""
    return Section(key, SECTIONS[key], CHARTS[key](document), table)


def board_pack(
    trust: str, academic_year: str, period: str, made_at: str, filters: Sequence[tuple[str, str]],
    sections: Sequence[Section],
) -> BoardPack:
    updated = [value for s in sections for name, value in s.table.about if name == "last_updated" and value]
    return BoardPack(trust, academic_year, period, made_at, max(map(str, updated), default=None),
                     tuple(filters) or (("filters", "none"),), tuple(sections))


MAX_BARS = 25
"""Bars per chart: a Trust with more groups gets its bars over several charts (each fits a page)."""
MAX_LINES = 10
"""Lines per chart: All Pupils and the first groups (every group is in the table)."""


def bar_charts(title: str, bars: Sequence[Bar]) -> tuple[Chart, ...]:
    """`bars` in charts of at most `MAX_BARS`, the later ones titled as continued."""
    return tuple(
        BarChart(title if start == 0 else f"{title} (continued)", tuple(bars[start:start + MAX_BARS]))
        for start in range(0, len(bars), MAX_BARS)
    )


def line_chart(title: str, categories: tuple[str, ...], lines: Sequence[Line]) -> LineChart:
    """A line chart of the first `MAX_LINES` lines, the title saying so when there were more."""
    if len(lines) > MAX_LINES:
        title = f"{title} (All Pupils and the first {MAX_LINES - 1} groups; every group is in the table)"
    return LineChart(title, categories, tuple(lines[:MAX_LINES]))


def _bar(row: Mapping[str, Any], value: str = "pct", n: str = "n", label: str = "label") -> Bar:
    return Bar(str(row[label]), row.get(value), int(row.get(n) or 0), bool(row.get("small_group")))


def _summative(document: Mapping[str, Any]) -> tuple[Chart, ...]:
    tiles = [*document["primary_subjects"], *document["eyfs_subjects"]]
    return bar_charts("% at or above this period (Trust, pooled)", [_bar(tile) for tile in tiles])


def _attainment(document: Mapping[str, Any]) -> tuple[Chart, ...]:
    rows = [document["all_pupils"], *document["rows"]]
    return bar_charts("% at or above ARE, Combined RWM", [_bar(row) for row in rows])


def _period_label(point: Mapping[str, Any]) -> str:
    return f"{point['period']} {point['academic_year']}"


def _progress(document: Mapping[str, Any]) -> tuple[Chart, ...]:
    categories = tuple(_period_label(p) for p in document["periods"])
    rows = [document["all_pupils"], *document["rows"]]
    lines = [Line(str(row["label"]), tuple(point["pct"] for point in row["series"])) for row in rows]
    return (line_chart("% at or above per period, GLD or RWM", categories, lines),)


def _gaps(document: Mapping[str, Any]) -> tuple[Chart, ...]:
    series = document["series"]
    categories = tuple(_period_label(point) for point in series)
    lines = [Line(str(document[side]["label"]), tuple(point[side]["pct"] for point in series))
             for side in ("first", "second")]
    return (line_chart("% at or above per period, Combined RWM", categories, lines),)


def _attendance(document: Mapping[str, Any]) -> tuple[Chart, ...]:
    rows = [document["all_pupils"], *document["rows"]]
    bars = [_bar(row, "attendance_pct", "pupils") for row in rows]
    return bar_charts(f"Attendance %, {document['window']}", bars)


def _no_chart(_document: Mapping[str, Any]) -> tuple[Chart, ...]:
    return ()


CHARTS: dict[str, Callable[[Mapping[str, Any]], tuple[Chart, ...]]] = {
    "summative": _summative,
    "attainment": _attainment,
    "progress": _progress,
    "gaps": _gaps,
    "statutory": _no_chart,
    "attendance": _attendance,
}


def condensed(table: Table) -> tuple[Table, tuple[tuple[str, Cell], ...]]:
    """The table without its columns that say the same text on every row that has a value (a
    source, a year), and those columns' (name, text): printed once above the table, so that a wide
    report keeps every figure in fewer columns. The first column (the section) always stays."""
    common: list[tuple[str, Cell]] = []
    kept: list[int] = [0] if table.columns else []
    for index in range(1, len(table.columns)):
        values = {row[index] for row in table.rows if row[index] is not None}
        if len(table.rows) > 1 and len(values) == 1 and isinstance(next(iter(values)), str):
            common.append((table.columns[index], next(iter(values))))
        else:
            kept.append(index)
    rows = tuple(tuple(row[index] for index in kept) for row in table.rows)
    return Table(tuple(table.columns[index] for index in kept), rows, table.about), tuple(common)


def shown(cell: Cell) -> str:
    """A cell as the pack prints it: figures to 1 dp (as the UI shows them), nothing for no value."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, float):
        return f"{cell:.1f}"
    return str(cell)
