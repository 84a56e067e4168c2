"""The national statutory comparators (tidemark_schemas.statutory_national)."""

from __future__ import annotations

import pytest

from tidemark_schemas.calendar import parse_academic_year
from tidemark_schemas.statutory_measures import MEASURES
from tidemark_schemas.statutory_national import (
    KS2,
    NATIONAL_ATTAINMENT,
    NationalGroup,
    national_attainment,
)


def test_every_figure_names_a_statutory_measure_and_one_of_its_figures_once() -> None:
    keys = [(row.academic_year, row.measure, row.figure, row.group) for row in NATIONAL_ATTAINMENT]
    for row in NATIONAL_ATTAINMENT:
        assert row.figure in MEASURES[row.measure].figure_names, row
        parse_academic_year(row.academic_year)
        assert row.source
    assert len(keys) == len(set(keys))


def test_a_year_with_figures_gets_its_own() -> None:
    rwm = national_attainment("ks2.rwm", "2024/25")

    assert rwm["exs_plus_pct"].value == 62 and rwm["exs_plus_pct"].academic_year == "2024/25"
    assert rwm["exs_plus_pct"].source == KS2
    # 2024/25's higher standard is only given as "about 8%", 2023/24's as "7-8%": the last single value is 2022/23's.
    assert (rwm["gds_pct"].value, rwm["gds_pct"].academic_year) == (8, "2022/23")
    assert national_attainment("eyfs.gld", "2023/24")["pct"].value == 67.7
    assert national_attainment("mtc.score", "2022/23")["full_marks_pct"].value == 29


def test_a_year_not_yet_published_gets_the_latest_before_it() -> None:
    gld = national_attainment("eyfs.gld", "2026/27")["pct"]
    ks1 = national_attainment("ks1.reading", "2025/26")

    assert (gld.value, gld.academic_year) == (68.3, "2024/25")
    assert (ks1["exs_plus_pct"].value, ks1["exs_plus_pct"].academic_year) == (68, "2022/23")
    assert national_attainment("ks2.reading", "2020/21")["exs_plus_pct"].academic_year == "2018/19"  # no tests in 2020, 2021


def test_groups_are_published_for_some_measures_only() -> None:
    assert national_attainment("ks2.rwm", "2025/26", NationalGroup.NOT_DISADVANTAGED)["exs_plus_pct"].value == 67
    assert national_attainment("ks2.rwm", "2024/25", NationalGroup.FEMALE)["exs_plus_pct"].value == 65
    assert national_attainment("phonics.y1", "2024/25", NationalGroup.MALE)["pct"].value == 76
    assert national_attainment("ks2.writing", "2024/25", NationalGroup.DISADVANTAGED) == {}
    assert national_attainment("phonics.y2", "2024/25") == {}  # no national retake figure


def test_a_year_before_any_figure_has_none_and_an_unknown_measure_is_an_error() -> None:
    assert national_attainment("ks2.rwm", "2014/15") == {}
    with pytest.raises(ValueError, match="ks3.reading"):
        national_attainment("ks3.reading", "2024/25")
