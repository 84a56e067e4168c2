"""Structural validation of tracker rows: each error names its field."""

import pytest
from pydantic import ValidationError

from tidemark_schemas.ethnicity import EthnicGroup, ethnic_group
from tidemark_schemas.records import AssessmentRecord, PupilRecord

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
