"""format=csv|xlsx on every report and dashboard: the file carries the JSON's rows and figures, the
report's period, filters and last update, and nothing a spreadsheet would run.

The routes are taken from the app's OpenAPI (every GET under /v1/reports and /v1/dashboards), each
called with the first allowed value of its required parameters, so a report added later is tested
here without a line of its own."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest

from tidemark_gateway.adapters.table_files import XLSX_MEDIA_TYPE, csv_text
from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.testing import Gateway, cell
from tidemark_schemas.vocabulary import Sex, YearGroup

YEAR, PERIOD = "2025/26", "AUT2"
UPDATED = "2025-12-01T08:00:00+00:00"
REPORT_PREFIXES = ("/v1/reports/", "/v1/dashboards/")


def report_operations() -> list[tuple[str, dict[str, str]]]:
    """(path, required parameters) of every report and dashboard route of the app."""
    schema = create_app().openapi()
    found = []
    for path, operations in schema["paths"].items():
        if path.startswith(REPORT_PREFIXES) and "get" in operations:
            params = {p["name"]: _value(p) for p in operations["get"].get("parameters", []) if p.get("required")}
            found.append((path, params))
    return found


def _value(parameter: dict[str, Any]) -> str:
    if parameter["name"] == "academic_year":
        return YEAR
    if parameter["name"] == "period":
        return PERIOD
    schema = parameter["schema"]
    return str((schema.get("enum") or schema.get("examples"))[0])


REPORTS = report_operations()


def test_every_report_and_dashboard_is_exercised() -> None:
    assert {path for path, _ in REPORTS} >= {
        "/v1/reports/attainment", "/v1/reports/attainment-overview", "/v1/reports/progress-over-time",
        "/v1/reports/gaps", "/v1/reports/pupil-overview", "/v1/reports/data-completion", "/v1/reports/statutory",
        "/v1/reports/progress-from-statutory", "/v1/dashboards/summative", "/v1/dashboards/statutory",
    }


async def seed_trust(gateway: Gateway) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.school("S2", "Ash Academy")
    for period in ("AUT1", PERIOD):
        for measure in ("reading", "writing", "maths", "rwm", "gld", "gld_rwm"):
            await seed.counts(YEAR, period, measure, "S1", at=3, below=1, above=1)
            await seed.counts(YEAR, period, measure, "S2", cell(sex=Sex.M), at=1, below=2)
    await seed.counts(YEAR, "AUT1", "reading", "S2", cell(sex=Sex.M, year_group=YearGroup.Y4), at=5, below=2)
    for measure in ("ks2.reading", "ks2.rwm"):
        await seed.statutory(YEAR, measure, "S1", EXS=3, GDS=1, NOT=3)
        await seed.statutory("2024/25", measure, "S1", EXS=2, NOT=1)
    await seed.progress(YEAR, PERIOD, "S1", on_track_at=2, accelerated_above=1)
    await seed.progress_pupil(YEAR, PERIOD, "S1", "P1", "on_track_at")
    await seed.roll("S1", pupils=6)
    await seed.updated(UPDATED)


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def numbers(values: list[Any]) -> set[float]:
    return {float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)}


def read_csv(body: bytes) -> tuple[list[str], list[list[str]], dict[str, str]]:
    """(header, rows, about): the table, then after the empty row the (name, value) rows."""
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    blank = lines.index([])
    return lines[0], lines[1:blank], dict(lines[blank + 1:])


def csv_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@pytest.mark.parametrize(("path", "params"), REPORTS, ids=[path for path, _ in REPORTS])
async def test_the_csv_carries_the_json_figures_period_filters_and_last_update(
    gateway: Gateway, path: str, params: dict[str, str]
) -> None:
    await seed_trust(gateway)
    asked = {**params, "school": ["S1", "S2"]}
    document = (await gateway.get(path, **asked)).json()

    response = await gateway.get(path, **asked, format="csv")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    name = path.rsplit("/", 1)[1]
    assert response.headers["content-disposition"].startswith(f'attachment; filename="{name}')
    assert response.headers["content-disposition"].endswith('.csv"')
    header, rows, about = read_csv(response.content)
    assert header[0] == "section" and all(len(row) == len(header) for row in rows)
    figures = {number for row in rows for text in row if (number := csv_number(text)) is not None}
    assert figures == numbers(leaves(document)) - numbers(list(document.values()))
    texts = {text for row in rows for text in row} | set(about.values())
    assert {csv_text(leaf) for leaf in leaves(document) if isinstance(leaf, str)} <= texts
    assert about["last_updated"] == UPDATED and about["academic_year"] == YEAR
    assert about["school"] == "S1; S2"
    if "period" in params:
        assert about["period"] == PERIOD


@pytest.mark.parametrize(("path", "params"), REPORTS, ids=[path for path, _ in REPORTS])
async def test_the_excel_file_has_typed_figures_a_frozen_header_and_the_filters_on_a_second_sheet(
    gateway: Gateway, path: str, params: dict[str, str]
) -> None:
    await seed_trust(gateway)
    document = (await gateway.get(path, **params, sex="F")).json()
    as_csv = read_csv((await gateway.get(path, **params, sex="F", format="csv")).content)

    response = await gateway.get(path, **params, sex="F", format="xlsx")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    assert response.headers["content-disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Report", "About"]
    report, about = workbook["Report"], workbook["About"]
    assert report.freeze_panes == "A2"
    rows = list(report.iter_rows(values_only=True))
    assert list(rows[0]) == as_csv[0]
    assert len(rows) - 1 == len(as_csv[1])
    typed = {float(c.value) for row in report.iter_rows(min_row=2) for c in row if c.data_type == "n" and c.value is not None}
    # Excel keeps 15 significant digits (XlsxWriter writes 16): the figures, not their last bits
    expected = sorted(numbers(leaves(document)) - numbers(list(document.values())))
    assert sorted(typed) == pytest.approx(expected, rel=1e-14)
    settings = {name: value for name, value in about.iter_rows(min_row=2, values_only=True)}
    assert settings["last_updated"] == UPDATED and settings["sex"] == "F"
    assert settings["report"] == as_csv[2]["report"]


@pytest.mark.parametrize(("path", "params"), REPORTS, ids=[path for path, _ in REPORTS])
async def test_an_unknown_format_is_a_422_naming_format(gateway: Gateway, path: str, params: dict[str, str]) -> None:
    response = await gateway.get(path, **params, format="pdf")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "format"]
    assert "'csv'" in error["msg"] and "'xlsx'" in error["msg"]


def test_the_openapi_documents_the_format_and_both_file_types_on_every_report() -> None:
    schema = create_app().openapi()
    for path, _ in REPORTS:
        operation = schema["paths"][path]["get"]
        [parameter] = [p for p in operation["parameters"] if p["name"] == "format"]
        assert parameter["required"] is False
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv", XLSX_MEDIA_TYPE}


async def test_a_text_a_spreadsheet_would_run_is_written_as_text(gateway: Gateway) -> None:
    await gateway.seed.school("S1", '=HYPERLINK("http://x","a")')
    await gateway.seed.school("S2", "+Ash")
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", at=1)
    params = {"measure": "reading", "by": "school", "academic_year": YEAR, "period": PERIOD}

    _, rows, _ = read_csv((await gateway.get("/v1/reports/attainment", **params, format="csv")).content)
    workbook = openpyxl.load_workbook(io.BytesIO(
        (await gateway.get("/v1/reports/attainment", **params, format="xlsx")).content))

    labels = [row[2] for row in rows]
    assert labels == ["'+Ash", "'=HYPERLINK(\"http://x\",\"a\")", "All Pupils"]
    cells = [row[2] for row in workbook["Report"].iter_rows(min_row=2)]
    assert [(c.value, c.data_type) for c in cells] == [
        ("+Ash", "s"), ('=HYPERLINK("http://x","a")', "s"), ("All Pupils", "s")
    ]


async def test_the_pupil_list_of_a_drill_down_is_exported_one_pupil_a_row(gateway: Gateway) -> None:
    await seed_trust(gateway)
    params = {"academic_year": YEAR, "period": PERIOD, "category": "on_track_at", "pupils": "true"}

    header, rows, about = read_csv(
        (await gateway.get("/v1/reports/progress-from-statutory", **params, format="csv")).content)

    pupils = [dict(zip(header, row, strict=True)) for row in rows if row[0] == "pupils"]
    assert [(p["pupil_id"], p["school"], p["category"], p["disadvantaged"]) for p in pupils] == [
        ("P1", "Oak Primary", "on_track_at", "false")
    ]
    assert about["category"] == "on_track_at" and about["pupils"] == "true"
