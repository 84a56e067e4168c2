"""Reading an uploaded file as a header and rows of text cells: CSV with the standard library's
`csv`, Excel (.xlsx) with openpyxl in read-only mode (it streams the sheet instead of building it).
Every cell comes back as stripped text or None (blank), whatever type the spreadsheet gave it, so
the record models read every file the same way."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip archive


class UnreadableFile(ValueError):
    """The file is no CSV or Excel workbook this can read (the reason says why)."""


Cells = list[str | None]


@dataclass(frozen=True, slots=True)
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, Cells]]
    """(the file's row number, 1 being the header; cells in the headers' order)."""
    declared_rows: int | None = None
    """The rows a workbook says its sheet has, header included (None: not said, or a CSV)."""


def is_excel(content: bytes, filename: str | None) -> bool:
    return content.startswith(XLSX_MAGIC) or (filename or "").lower().endswith((".xlsx", ".xlsm"))


def read_table(content: bytes, filename: str | None = None) -> Table:
    """The header row and the data rows of a CSV (UTF-8, with or without a byte order mark) or of the
    first sheet of an Excel workbook."""
    if is_excel(content, filename):
        return _excel(content)
    return _csv(content)


def _csv(content: bytes) -> Table:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"a CSV file must be UTF-8 text (byte {error.start} is not)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile("the file is empty: the first row must name the columns") from None
    except csv.Error as error:
        raise UnreadableFile(f"not a CSV file: {error}") from None
    headers = [h.strip() for h in header]
    width = len(headers)

    def rows() -> Iterator[tuple[int, Cells]]:
        try:
            for number, row in enumerate(reader, start=2):
                yield number, _fit([c.strip() or None for c in row], width)
        except csv.Error as error:
            raise UnreadableFile(f"row {reader.line_num}: {error}") from None

    return Table(headers, rows())


def _excel(content: bytes) -> Table:
    import openpyxl  # imported when an Excel file comes: it is slow to import
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as error:
        raise UnreadableFile(f"not an Excel (.xlsx) workbook: {error}") from None
    except Exception as error:  # noqa: BLE001 - a zip that is no workbook fails in many ways inside openpyxl
        raise UnreadableFile(f"not an Excel (.xlsx) workbook: {type(error).__name__}") from None
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise UnreadableFile("the workbook has no sheet")
    values = sheet.iter_rows(values_only=True)
    try:
        header = next(values)
    except StopIteration:
        workbook.close()
        raise UnreadableFile("the sheet is empty: the first row must name the columns") from None
    headers = [(_text(h) or "") for h in header]
    width = len(headers)

    def rows() -> Iterator[tuple[int, Cells]]:
        try:
            for number, row in enumerate(values, start=2):
                yield number, _fit([_text(c) for c in row], width)
        finally:
            workbook.close()

    return Table(headers, rows(), sheet.max_row)


def _fit(cells: Cells, width: int) -> Cells:
    """A row with as many cells as there are headers (short rows padded with blanks; cells beyond
    the last header dropped)."""
    return cells[:width] + [None] * (width - len(cells))


def _text(value: Any) -> str | None:
    """A spreadsheet cell as the text a CSV would hold: whole numbers without `.0`, dates as ISO."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None
