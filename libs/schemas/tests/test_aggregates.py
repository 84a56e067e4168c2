"""The pure tally over counter cells: pooled Trust average, groupings and filters."""

import pytest

from tidemark_schemas.aggregates import Cell, PupilFilter, decode_field, encode_field, tally
from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.vocabulary import Band, SenProvision, Sex, YearGroup

GIRL = Cell(YearGroup.Y3, Sex.F, True, SenProvision.K, False, EthnicGroup.WHITE, False)
BOY = Cell(YearGroup.Y4, Sex.M, False, SenProvision.N, True, EthnicGroup.ASIAN, False)


def test_fields_round_trip():
    assert decode_field(encode_field(GIRL, Band.ABOVE)) == (GIRL, Band.ABOVE)


def test_trust_average_is_pooled_over_pupils_not_a_mean_of_schools():
    counters = {
        "S1": {encode_field(GIRL, Band.AT): 10},
        "S2": {encode_field(BOY, Band.BELOW): 90},
    }
    result = tally(counters, "school")
    assert result.groups["S1"].pct == 100.0
    assert result.groups["S2"].pct == 0.0
    assert result.all_pupils.n == 100
    assert result.all_pupils.pct == pytest.approx(10.0)


def test_filters_combine_with_any_grouping():
    counters = {
        "S1": {encode_field(GIRL, Band.AT): 3, encode_field(GIRL, Band.BELOW): 1, encode_field(BOY, Band.ABOVE): 5},
        "S2": {encode_field(GIRL, Band.BELOW): 4},
    }
    disadvantaged_girls_in_s1 = PupilFilter(schools=frozenset({"S1"}), sex=Sex.F, disadvantaged=True)
    result = tally(counters, "year_group", disadvantaged_girls_in_s1)
    assert (result.all_pupils.n, result.all_pupils.at_or_above) == (4, 3)
    assert set(result.groups) == {"Y3"}
    by_sex = tally(counters, "sex")
    assert (by_sex.groups["F"].n, by_sex.groups["F"].at_or_above) == (8, 3)
    assert (by_sex.groups["M"].n, by_sex.groups["M"].at_or_above) == (5, 5)


def test_no_pupils_means_no_percentage():
    assert tally({}, "school").all_pupils.pct is None
