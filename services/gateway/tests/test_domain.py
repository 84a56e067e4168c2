"""The gateway's pure rules, without I/O."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date

import pytest

from tidemark_gateway.domain.change import change_since, round_1dp
from tidemark_gateway.domain.live import visible_part
from tidemark_gateway.domain.measures import MEASURES, check_measure, stored_measures
from tidemark_gateway.domain.periods import academic_years_shown, current_period
from tidemark_gateway.domain.reports import GROUP_LABELS, group_rows
from tidemark_gateway.domain.scope import SchoolNotVisible, UnknownSchool, schools_in_scope
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import GROUPINGS, BandCounts, Cell
from tidemark_schemas.calendar import TERMS, PeriodCalendar, PeriodRef
from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.notices import ChangeNotice
from tidemark_schemas.vocabulary import SenProvision, Sex, YearGroup

TRUST_WIDE = Principal(trust_id="T", role="viewer")
OAK_ONLY = Principal(trust_id="T", role="viewer", schools=frozenset({"S1"}))


@pytest.mark.parametrize(
    ("current", "previous", "change", "display", "direction"),
    [
        (62.3, 60.0, 2.3, "+2.3", "up"),
        (59.0, 60.0, -1.0, "-1.0", "down"),
        (60.04, 60.0, 0.0, "~ 0", "none"),  # rounds to 0.0
        (59.96, 60.0, 0.0, "~ 0", "none"),  # rounds to -0.0: no "-0.0", no arrow
        (None, 60.0, None, "no data", "none"),  # no data (yet) this period: not "no change"
        (None, None, None, "no data", "none"),
        (60.0, None, None, "–", "none"),  # nothing to compare with
        (100.0, 0.0, 100.0, "+100.0", "up"),
    ],
)
def test_change_since_previous_period(current, previous, change, display, direction) -> None:
    result = change_since(current, previous)

    assert (result.change, result.display, result.direction) == (change, display, direction)


def test_change_keeps_the_unrounded_difference_and_rounds_it_once() -> None:
    result = change_since(200 / 3, 50.0)

    assert result.difference == pytest.approx(16.6666667)
    assert result.change == 16.7


def test_round_1dp_rounds_halves_away_from_zero() -> None:
    assert [round_1dp(v) for v in (2.25, -2.25, 0.05, 66.66666, -0.04)] == [2.3, -2.3, 0.1, 66.7, -0.0]


def test_every_group_any_cell_can_fall_in_has_a_label() -> None:
    cells = [Cell(*values) for values in itertools.product(
        YearGroup, Sex, (False, True), SenProvision, (False, True), EthnicGroup, (False, True)
    )]
    for by, group_of in GROUPINGS.items():
        if by in ("school", "class"):  # labelled with the school's and the class's names
            continue
        assert {group_of("S1", cell) for cell in cells} == set(GROUP_LABELS[by]), by
    assert {GROUPINGS["class"]("S1", replace(cell, class_id=c)) for cell in cells[:3] for c in ("", "C1")} == {"", "C1"}


def test_school_rows_are_sorted_by_name_and_include_schools_without_data() -> None:
    names = {"S1": "oak primary", "S2": "Ash Academy", "S3": "Birch"}
    groups = {"S1": BandCounts(below=1, at=1)}

    rows = group_rows("school", groups, names, {"S1", "S2", "S3"})

    assert [(r.label, r.n, r.pct) for r in rows] == [("Ash Academy", 0, None), ("Birch", 0, None), ("oak primary", 2, 50.0)]


def test_year_groups_are_in_school_order_with_reception_first() -> None:
    groups = {y.value: BandCounts(at=1) for y in (YearGroup.Y6, YearGroup.R, YearGroup.Y2)}

    assert [r.label for r in group_rows("year_group", groups, {}, ())] == ["Reception", "Year 2", "Year 6"]


def test_a_trust_wide_viewer_covers_every_school_and_a_school_viewer_only_its_own() -> None:
    trust = {"S1", "S2", "S3"}

    assert schools_in_scope(TRUST_WIDE, trust, None) == trust
    assert schools_in_scope(OAK_ONLY, trust, None) == {"S1"}
    assert schools_in_scope(TRUST_WIDE, trust, ["S2"]) == {"S2"}


def test_asking_for_a_school_out_of_sight_is_refused_before_its_existence_is_checked() -> None:
    with pytest.raises(SchoolNotVisible) as hidden:
        schools_in_scope(OAK_ONLY, {"S1", "S2"}, ["S1", "S2", "S9"])
    with pytest.raises(UnknownSchool) as unknown:
        schools_in_scope(TRUST_WIDE, {"S1", "S2"}, ["S1", "S9"])

    assert hidden.value.schools == ["S2", "S9"]
    assert unknown.value.schools == ["S9"]


def test_a_notice_is_cut_down_to_the_callers_schools() -> None:
    notice = ChangeNotice("T", "2025/26", "AUT1", ("reading",), ("S1", "S2"))

    assert visible_part(notice, OAK_ONLY) == ChangeNotice("T", "2025/26", "AUT1", ("reading",), ("S1",))
    assert visible_part(ChangeNotice("T", "2025/26", "AUT1", ("maths",), ("S2",)), OAK_ONLY) is None
    assert visible_part(notice, TRUST_WIDE) == notice


def test_measures_include_stored_and_mixed_measures() -> None:
    assert stored_measures("gld_rwm") == ("gld", "rwm")
    assert stored_measures("reading") == ("reading",)
    assert {"reading", "writing", "maths", "rwm", "gld", "all_goals", "E17", "science"} <= set(MEASURES)
    with pytest.raises(ValueError, match="unknown measure 'geology'"):
        check_measure("geology")


def test_the_current_period_is_the_last_one_that_has_started() -> None:
    half_terms, terms = PeriodCalendar(), PeriodCalendar(TERMS)

    assert current_period(half_terms, date(2026, 11, 22)) == PeriodRef("2026/27", "AUT2")
    assert current_period(half_terms, date(2026, 9, 1)) == PeriodRef("2026/27", "AUT1")
    assert current_period(half_terms, date(2026, 8, 31)) == PeriodRef("2025/26", "SUM2")
    assert current_period(terms, date(2026, 3, 1)) == PeriodRef("2025/26", "SPR")


def test_dashboards_offer_the_current_academic_year_and_the_two_before() -> None:
    assert academic_years_shown(date(2026, 11, 22)) == ["2024/25", "2025/26", "2026/27"]
    assert academic_years_shown(date(2026, 7, 1)) == ["2023/24", "2024/25", "2025/26"]
