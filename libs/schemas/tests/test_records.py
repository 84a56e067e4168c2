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
