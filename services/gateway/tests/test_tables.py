"""`tabulate`: any report (dataclass, pydantic model or its JSON) as one table and what it is about."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from tidemark_gateway.domain.tables import Table, tabulate


@dataclass
class Point:
    period: str
    pct: float | None


@dataclass
class Row:
    group: str
    n: int
    previous: dict[str, int]
    series: list[Point]


class Ref(BaseModel):
    academic_year: str
    period: str


@dataclass
class Report:
    measure: str
    last_updated: str | None
    compared_with: Ref
    rows: list[Row]
    all_pupils: Row
    breakdown: dict[str, list[Point]]


REPORT = Report(
    "reading", None, Ref(academic_year="2025/26", period="AUT1"),
    [Row("S1", 3, {"n": 2}, [Point("AUT1", 50.0), Point("AUT2", 100 / 3)])],
    Row("all", 3, {"n": 2}, []),
    {"F": [Point("AUT1", 1.5)]},
)


def test_scalars_and_records_without_figures_say_what_the_report_is_about() -> None:
    assert tabulate(REPORT).about == (
        ("measure", "reading"), ("last_updated", None),
        ("compared_with.academic_year", "2025/26"), ("compared_with.period", "AUT1"),
    )


def test_lists_give_one_row_per_item_nested_records_give_columns_by_path() -> None:
    table = tabulate(REPORT)

    assert table == Table(
        ("section", "group", "n", "previous.n", "series.period", "series.pct", "period", "pct"),
        (
            ("rows", "S1", 3, 2, "AUT1", 50.0, None, None),
            ("rows", "S1", 3, 2, "AUT2", 100 / 3, None, None),
            ("all_pupils", "all", 3, 2, None, None, None, None),
            ("breakdown.F", None, None, None, None, None, "AUT1", 1.5),
        ),
        table.about,
    )


def test_a_report_and_its_json_give_the_same_table() -> None:
    from pydantic import TypeAdapter

    assert tabulate(TypeAdapter(Report).dump_python(REPORT, mode="json")) == tabulate(REPORT)


def test_a_mapping_of_lists_inside_a_row_gets_a_key_column() -> None:
    table = tabulate({"rows": [{"group": "S1", "breakdown": {"sex": [{"label": "Female", "pupils": 2}],
                                                                  "eal": [{"label": "EAL", "pupils": 1}]}}]})

    assert table.columns == ("section", "group", "breakdown", "breakdown.label", "breakdown.pupils")
    assert table.rows == (("rows", "S1", "sex", "Female", 2), ("rows", "S1", "eal", "EAL", 1))
