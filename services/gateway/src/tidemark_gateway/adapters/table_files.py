"""A `Table` written as a file: CSV or Excel (XlsxWriter). No knowledge of any report.

CSV: UTF-8 (with a byte-order mark, which Excel needs to read UTF-8), the header row first, numbers
written as the JSON writes them (unrounded), then an empty row and the `about` rows (name, value).
Excel: the table on the first sheet (typed cells, the header row bold, frozen and filterable), the
`about` rows on a second sheet.

Both are safe to open in a spreadsheet: a text cell is never taken for a formula. In the CSV a
text starting with = + - @, a tab or a carriage return gets a leading apostrophe (OWASP, "CSV
Injection"); the Excel writer writes text as text (`write_string`), never as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import xlsxwriter

from tidemark_gateway.domain.tables import Cell, Table

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may read as the start of a formula in a text cell (OWASP)."""

REPORT_SHEET = "Report"
ABOUT_SHEET = "About"


def csv_text(value: str) -> str:
    """A text cell that no spreadsheet takes for a formula."""
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


def _csv_cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: a bool is an int
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value  # str(float) is the shortest exact form, as in the JSON
    return csv_text(value)


def write_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_text(column) for column in table.columns])
    writer.writerows([_csv_cell(value) for value in row] for row in table.rows)
    writer.writerow([])
    writer.writerows([csv_text(name), _csv_cell(value)] for name, value in table.about)
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(table: Table, title: str) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"title": title})
    bold = workbook.add_format({"bold": True})
    report = workbook.add_worksheet(REPORT_SHEET)
    _write_rows(report, [table.columns, *table.rows], bold)
    report.freeze_panes(1, 0)
    report.autofilter(0, 0, max(len(table.rows), 1), len(table.columns) - 1)
    _fit_columns(report, [table.columns, *table.rows])
    about = workbook.add_worksheet(ABOUT_SHEET)
    _write_rows(about, [("name", "value"), *table.about], bold)
    about.freeze_panes(1, 0)
    _fit_columns(about, [("name", "value"), *table.about])
    workbook.close()
    return buffer.getvalue()


def _write_rows(sheet: xlsxwriter.worksheet.Worksheet, rows: Iterable[Iterable[Cell]], header: object) -> None:
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, value, header if r == 0 else None)


def _fit_columns(sheet: xlsxwriter.worksheet.Worksheet, rows: list[Iterable[Cell]]) -> None:
    widths: dict[int, int] = {}
    for row in rows[:200]:  # enough to judge a column; long reports need not be measured whole
        for c, value in enumerate(row):
            widths[c] = max(widths.get(c, 0), len(str(value)) if value is not None else 0)
    for c, width in widths.items():
        sheet.set_column(c, c, min(max(width, 6), 60) + 2)
