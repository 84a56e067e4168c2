"""Structural validation of tracker rows: each error names its field."""

import json
from datetime import date

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError, field_validator

from tidemark_schemas.ethnicity import EthnicGroup, ethnic_group
from tidemark_schemas.records import (
    MAX_BATCH_ROWS,
    AssessmentRecord,
    Batch,
    PupilRecord,
    SchoolRecord,
    academic_year_window,
)
from tidemark_schemas.statutory import StatutoryRecord

ROW = dict(
    pupil_id="P1", school_id="S1", academic_year="2025/26", period="AUT1", year_group="Y3", subject="reading", band="AT"
)
PUPIL = dict(
    pupil_id="P1", school_id="S1", year_group="Y3", sex="F", fsm6=False, lac=False, plac=True, sen="K",
    eal=False, ethnicity="WBRI", left_on=None,
)


def fields_in_error(error: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in error.errors()}


def test_a_valid_result_parses():
    assert AssessmentRecord(**ROW).band.value == "AT"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"band": "SECURE"}, "band"),
        ({"period": "WINTER"}, "period"),
        ({"academic_year": "2025/2026"}, "academic_year"),
        ({"subject": "E01"}, "subject"),
        ({"year_group": "Y7"}, "year_group"),
        ({"pupil_id": ""}, "pupil_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_each_bad_field_is_named(change, field):
    with pytest.raises(ValidationError) as error:
        AssessmentRecord(**{**ROW, **change})
    assert fields_in_error(error.value) == {field}


def test_reception_results_are_early_learning_goals():
    assert AssessmentRecord(**{**ROW, "year_group": "R", "subject": "E17"}).subject == "E17"
    with pytest.raises(ValidationError):
        AssessmentRecord(**{**ROW, "year_group": "R", "subject": "reading"})


def test_disadvantaged_is_fsm6_or_looked_after_or_previously_looked_after():
    assert PupilRecord(**PUPIL).disadvantaged
    assert not PupilRecord(**{**PUPIL, "plac": False}).disadvantaged


def test_unknown_census_ethnicity_code_is_refused():
    with pytest.raises(ValidationError) as error:
        PupilRecord(**{**PUPIL, "ethnicity": "XXXX"})
    assert fields_in_error(error.value) == {"ethnicity"}


def test_census_codes_roll_up_to_dfe_major_groups():
    assert ethnic_group("WIRT") is EthnicGroup.WHITE
    assert ethnic_group("CHNE") is EthnicGroup.ASIAN
    assert ethnic_group("NOBT") is EthnicGroup.UNCLASSIFIED


def test_a_result_needs_a_band_or_a_code_and_the_missing_band_is_named():
    without_band = {key: value for key, value in ROW.items() if key != "band"}
    assert AssessmentRecord(**without_band, code="SA").band is None
    with pytest.raises(ValidationError) as error:
        AssessmentRecord(**without_band)
    assert fields_in_error(error.value) == {"band"}
    with pytest.raises(ValidationError) as error:
        AssessmentRecord(**without_band, code="no|pipes")
    assert fields_in_error(error.value) == {"code"}


def test_an_assessment_model_lists_unique_codes_lowest_band_first():
    from tidemark_schemas.assessment_model import SONAR_MODEL, AssessmentModel

    assert SONAR_MODEL.band_of("JA") == "AT" and SONAR_MODEL.band_of("ZZ") is None
    codes = [dict(code="A", label="Above", band="ABOVE"), dict(code="B", label="Below", band="BELOW")]
    with pytest.raises(ValidationError, match="lowest first"):
        AssessmentModel(name="upside-down", codes=codes)
    with pytest.raises(ValidationError, match="appears twice"):
        AssessmentModel(name="twice", codes=[codes[1], codes[1]])


def test_an_assessment_model_may_carry_the_name_people_know_it_by_and_one_stored_without_it_still_reads():
    from tidemark_schemas.assessment_model import SONAR_MODEL, AssessmentModel

    stored_before = {"name": "sonar", "codes": [c.model_dump(mode="json") for c in SONAR_MODEL.codes]}

    assert (SONAR_MODEL.name, SONAR_MODEL.label) == ("sonar", "Sonar")
    assert AssessmentModel.model_validate(stored_before).label is None
    assert AssessmentModel.model_validate({**stored_before, "label": "  Sonar  "}) == SONAR_MODEL
    with pytest.raises(ValidationError):
        AssessmentModel.model_validate({**stored_before, "label": ""})


# -- strictness: what a careless or hostile client sends is named, never coerced -------------------

def first_error(model, body: dict) -> tuple[str, str]:
    """(field, message) of the first error of `body` parsed as the JSON an API receives."""
    try:
        model.model_validate_json(json.dumps(body))
    except ValidationError as error:
        found = error.errors()[0]
        return ".".join(map(str, found["loc"])), found["msg"]
    raise AssertionError(f"{body} was accepted")


@pytest.mark.parametrize("field", ["fsm6", "lac", "plac", "eal"])
def test_a_characteristic_flag_must_be_a_json_boolean(field):
    assert first_error(PupilRecord, {**PUPIL, field: "yes"}) == (field, "Input should be a valid boolean")
    assert first_error(PupilRecord, {**PUPIL, field: 1}) == (field, "Input should be a valid boolean")


def test_a_mark_or_score_must_be_a_number_not_a_boolean():
    row = dict(pupil_id="P1", school_id="S1", academic_year="2025/26", assessment="mtc", component="score")
    assert first_error(StatutoryRecord, {**row, "mark": True}) == ("mark", "Input should be a valid integer")
    assert first_error(StatutoryRecord, {**row, "scaled_score": "104"}) == ("scaled_score", "Input should be a valid integer")


@pytest.mark.parametrize("year", ["0000/01", "1999/00", "9999/00"])
def test_an_academic_year_outside_the_window_is_refused(year):
    first, last = academic_year_window()
    field, message = first_error(AssessmentRecord, {**ROW, "academic_year": year})
    assert (field, message) == ("academic_year", f"Value error, must be between {first}/{(first + 1) % 100:02d} and "
                                                 f"{last}/{(last + 1) % 100:02d}")


def test_the_window_runs_from_2000_01_to_the_year_after_the_current_one():
    assert academic_year_window(date(2026, 11, 28)) == (2000, 2027)
    assert academic_year_window(date(2027, 8, 31)) == (2000, 2027)
    assert academic_year_window(date(2027, 9, 1)) == (2000, 2028)


def test_a_leaving_date_outside_the_window_is_refused():
    field, message = first_error(PupilRecord, {**PUPIL, "left_on": "0001-01-01"})
    assert field == "left_on" and message.startswith("Value error, must be between 2000-09-01 and ")


@pytest.mark.parametrize(("name", "reason"), [
    ("Oak\ud800", "Input should be a valid string, unable to parse raw data as a unicode string"),
    ("Oak\x00", "Value error, must not hold control characters (found U+0000)"),
    ("Oak\x1b[31m", "Value error, must not hold control characters (found U+001B)"),
])
def test_a_name_that_no_store_or_page_can_hold_is_refused(name, reason):
    with pytest.raises(ValidationError) as refused:
        SchoolRecord(school_id="S1", name=name)
    assert [(error["loc"], error["msg"]) for error in refused.value.errors()] == [(("name",), reason)]
    assert SchoolRecord(school_id="S1", name="École Saint-Étienne – Ōak").name == "École Saint-Étienne – Ōak"


def test_a_batch_over_the_row_limit_is_refused_before_any_row_is_validated():
    validated: list[int] = []

    class Row(BaseModel):
        n: int

        @field_validator("n")
        @classmethod
        def _count(cls, value: int) -> int:
            validated.append(value)
            return value

    batch = TypeAdapter(Batch[Row])
    with pytest.raises(ValidationError) as refused:
        batch.validate_python([{"n": 1}] * (MAX_BATCH_ROWS + 1))

    assert validated == []
    assert [(e["type"], e["loc"], e["msg"]) for e in refused.value.errors()] == [
        ("too_long", (), f"at most {MAX_BATCH_ROWS} rows per batch, not {MAX_BATCH_ROWS + 1}")
    ]
    assert len(batch.validate_python([{"n": 1}] * MAX_BATCH_ROWS)) == len(validated) == MAX_BATCH_ROWS
    assert batch.json_schema()["maxItems"] == MAX_BATCH_ROWS == 20_000
