"""The pure rules of bulk import (`tidemark_ingest.domain.imports`): headers matched to fields, both
shapes turned into records, errors located at the file's row and header, batches that never split a
file row; and which saved mapping reads an upload (`domain.import_mappings`)."""

from __future__ import annotations

from datetime import UTC, datetime

from tidemark_ingest.domain.import_mappings import SavedMapping, choose, for_headers, schools_to_save, shape_of
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


def saved(school: str, mapping: dict[str, str], headers: list[str], day: int,
          kind: ImportKind = ImportKind.SUMMATIVE) -> SavedMapping:
    return SavedMapping(f"{school}-{day}", school, kind, shape_of(headers), tuple(headers), mapping,
                        datetime(2026, 1, day, tzinfo=UTC))


def test_a_files_shape_is_its_headers_whatever_their_order_case_and_spacing() -> None:
    assert shape_of(["UPN", "Pupil Name", "Reading"]) == shape_of(["reading", " pupil-name", "upn"])
    assert shape_of(["UPN", "Reading"]) != shape_of(["UPN", "Reading", "Writing"])


def test_a_saved_mapping_of_the_same_shape_wins_over_a_newer_one_that_also_fits() -> None:
    headers = ["UPN", "School", "Year", "reading"]
    same_shape = saved("S1", {"UPN": "pupil_id", "School": "school_id", "Year": "year_group"}, headers, day=1)
    newer = saved("S1", {"UPN": "pupil_id"}, ["UPN", "School", "Year", "reading", "writing"], day=2)
    other_kind = saved("S1", {"UPN": "pupil_id"}, headers, day=3, kind=ImportKind.PUPILS)
    not_fitting = saved("S1", {"Pupil": "pupil_id"}, ["Pupil", "reading"], day=4)
    candidates = [newer, same_shape, other_kind, not_fitting]

    assert choose(candidates, ImportKind.SUMMATIVE, headers, None, "S1") is same_shape
    assert choose(candidates, ImportKind.SUMMATIVE, headers + ["maths"], None, "S1") is newer  # then the latest used
    assert choose(candidates, ImportKind.SUMMATIVE, headers, None, "S2") is None  # another school's


def test_without_a_school_given_the_school_is_the_one_the_first_row_names_through_the_mapping() -> None:
    headers = ["upn", "SCHOOL", "Year"]
    oak = saved("S1", {"UPN": "pupil_id", "School": "school_id"}, ["UPN", "School", "Year"], day=1)
    ash = saved("S2", {"UPN": "pupil_id", "School": "school_id"}, ["UPN", "School", "Year"], day=2)

    assert choose([oak, ash], ImportKind.SUMMATIVE, headers, ["P1", "S1", "Y3"], None) is oak
    assert choose([oak, ash], ImportKind.SUMMATIVE, headers, ["P1", "S9", "Y3"], None) is None
    assert for_headers(oak.mapping, headers) == {"upn": "pupil_id", "SCHOOL": "school_id"}  # the file's spelling


def test_a_committed_mapping_is_saved_for_the_uploads_school_or_else_each_school_of_its_rows() -> None:
    assert schools_to_save("S1", ["S1", "S2"]) == ["S1"]
    assert schools_to_save(None, ["S2", "S1", "S2"]) == ["S1", "S2"]


def test_a_mapping_to_nothing_ignores_a_column_that_would_match_a_field() -> None:
    found = planned(ImportKind.SUMMATIVE, ["pupil_id", "school_id", "year_group", "period", "reading"],
                    {"period": ""}, academic_year="2025/26", period="AUT1")

    assert found.columns["period"] is None
    assert [r.period for r, _ in read_rows(found, [(2, ["P1", "S1", "Y3", "last term", "AT"])]).records] == ["AUT1"]
