"""The pure rules of bulk import (`tidemark_ingest.domain.imports`): headers matched to fields, both
shapes turned into records, errors located at the file's row and header, batches that never split a
file row."""

from __future__ import annotations

from tidemark_ingest.domain.imports import CellError, ImportKind, Plan, batches, plan, read_rows
from tidemark_schemas.records import AssessmentRecord
from tidemark_schemas.statutory import StatutoryRecord


def planned(kind: ImportKind, headers: list[str], mapping: dict[str, str] | None = None, **defaults: str) -> Plan:
    found = plan(kind, headers, mapping or {}, defaults)
    assert isinstance(found, Plan), found
    return found


def test_headers_match_fields_whatever_their_case_spaces_and_hyphens_and_a_mapping_wins() -> None:
    found = planned(ImportKind.SUMMATIVE, ["UPN", " School-ID ", "YEAR GROUP", "Reading", "Pupil name"],
                    {"UPN": "pupil_id"}, academic_year="2025/26", period="AUT1")

    assert found.columns == {"UPN": "pupil_id", " School-ID ": "school_id", "YEAR GROUP": "year_group",
                             "Reading": "reading", "Pupil name": None}
    assert found.wide


def test_a_wide_summative_row_makes_one_result_per_filled_subject_cell() -> None:
    found = planned(ImportKind.SUMMATIVE, ["pupil_id", "school_id", "year_group", "reading", "writing", "maths"],
                    academic_year="2025/26", period="AUT1")

    rows = read_rows(found, [(2, ["P1", "S1", "Y3", "at", "SA", None]), (3, ["P2", "S1", "Y3", None, None, None])])

    assert [(r.subject, r.band, r.code, n) for r, n in rows.records if isinstance(r, AssessmentRecord)] == [
        ("reading", "AT", None, 2), ("writing", None, "SA", 2)]
    assert (rows.errors, rows.valid_rows) == ([], 2)


def test_a_wide_statutory_cell_is_a_code_of_its_component_or_else_its_headline_number() -> None:
    found = planned(ImportKind.STATUTORY, ["pupil_id", "school_id", "academic_year", "ks2_reading_test",
                                           "ks2_reading_test_mark", "eyfs_E01", "mtc_score", "phonics_year1"])

    rows = read_rows(found, [(2, ["P1", "S1", "2025/26", "104", "31", "2", "25", "Wa"])])

    assert {(r.component, r.mark, r.scaled_score, r.code) for r, _ in rows.records if isinstance(r, StatutoryRecord)} \
        == {("reading_test", 31, 104, None), ("E01", None, None, "2"), ("score", 25, None, None),
            ("year1", None, None, "Wa")}


def test_an_invalid_cell_is_named_by_the_files_row_and_header() -> None:
    found = planned(ImportKind.SUMMATIVE, ["pupil_id", "school_id", "Year Group", "Reading"],
                    academic_year="2025/26", period="AUT1")

    rows = read_rows(found, [(7, ["P1", "S1", "R", "AT"])])

    assert rows.records == [] and rows.valid_rows == 0
    assert [(e.row, e.column) for e in rows.errors] == [(7, "Reading")]
    assert rows.errors[0].reason.startswith("unknown subject 'reading'")


def test_a_missing_column_is_one_error_of_the_file() -> None:
    assert plan(ImportKind.PUPILS, ["pupil_id", "school_id", "sex"], {}, {}) == [
        CellError(None, name, f"no column for {name!r}: add one, or map a column to it")
        for name in ("year_group", "fsm6", "lac", "plac", "sen", "eal", "ethnicity")
    ]


def test_batches_never_split_the_results_of_one_file_row() -> None:
    found = planned(ImportKind.SUMMATIVE, ["pupil_id", "school_id", "year_group", "reading", "writing", "maths"],
                    academic_year="2025/26", period="AUT1")
    rows = read_rows(found, [(n, [f"P{n}", "S1", "Y3", "AT", "AT", "AT"]) for n in range(2, 6)])

    assert [(len(batch), file_rows) for batch, file_rows in batches(rows.records, 4)] == [(6, 2), (6, 2)]
