"""The shared attainment rules, with the values domain.md gives."""

from datetime import date

import pytest

from tidemark_schemas.calendar import (
    PeriodCalendar,
    PeriodRef,
    academic_year_of,
    academic_years_up_to,
    parse_academic_year,
)
from tidemark_schemas.rules import combined_all_goals, combined_gld, combined_rwm, on_roll_during, percentage
from tidemark_schemas.vocabulary import EYFS_GOALS, GLD_GOALS, Band

A, B, X = Band.AT, Band.BELOW, Band.ABOVE


@pytest.mark.parametrize(
    ("reading", "writing", "maths", "expected"),
    [
        (X, X, X, X),
        (X, X, A, A),
        (A, A, A, A),
        (X, B, X, B),
        (B, B, B, B),
    ],
)
def test_combined_rwm_is_below_if_any_below_above_only_if_all_above(reading, writing, maths, expected):
    assert combined_rwm({"reading": reading, "writing": writing, "maths": maths}) is expected


def test_combined_rwm_does_not_exist_without_all_three_subjects():
    assert combined_rwm({"reading": A, "writing": A}) is None


def test_gld_needs_all_twelve_goals_at_or_above_and_ignores_the_other_five():
    goals = {g: A for g in GLD_GOALS} | {g: B for g in EYFS_GOALS[12:]}
    assert combined_gld(goals) is A
    assert combined_all_goals(goals) is B
    assert combined_gld({**goals, "E07": B}) is B
    assert combined_gld({g: A for g in GLD_GOALS[:11]}) is None


def test_gld_and_all_goals_are_above_only_when_every_goal_is_above():
    all_above = {g: X for g in EYFS_GOALS}
    assert (combined_gld(all_above), combined_all_goals(all_above)) == (X, X)
    gld_above = {**all_above, "E13": A}  # a goal outside the 12 is only AT
    assert (combined_gld(gld_above), combined_all_goals(gld_above)) == (X, A)
    one_gld_goal_at = {**all_above, "E12": A}
    assert (combined_gld(one_gld_goal_at), combined_all_goals(one_gld_goal_at)) == (A, A)
    one_below = {**all_above, "E01": B}
    assert (combined_gld(one_below), combined_all_goals(one_below)) == (B, B)


def test_percentage_is_unrounded_and_none_without_pupils():
    assert percentage(1, 3) == pytest.approx(33.333333333)
    assert percentage(0, 0) is None
    assert percentage(0, 5) == 0.0


def test_previous_period_crosses_into_the_prior_academic_year():
    calendar = PeriodCalendar()
    assert calendar.previous(PeriodRef("2025/26", "SPR1")) == PeriodRef("2025/26", "AUT2")
    assert calendar.previous(PeriodRef("2025/26", "AUT1")) == PeriodRef("2024/25", "SUM2")
    assert PeriodCalendar(("AUT", "SPR", "SUM")).previous(PeriodRef("2025/26", "AUT")) == PeriodRef("2024/25", "SUM")


def test_window_covers_the_current_year_and_the_two_before():
    window = PeriodCalendar().window("2025/26")
    assert len(window) == 18
    assert window[0] == PeriodRef("2023/24", "AUT1") and window[-1] == PeriodRef("2025/26", "SUM2")
    assert academic_years_up_to("2000/01") == ["1998/99", "1999/00", "2000/01"]


def test_academic_years_run_from_september_and_must_be_consecutive():
    assert academic_year_of(date(2026, 8, 31)) == "2025/26"
    assert academic_year_of(date(2026, 9, 1)) == "2026/27"
    assert parse_academic_year("1999/00") == 1999
    with pytest.raises(ValueError):
        parse_academic_year("2025/27")
    with pytest.raises(ValueError):
        parse_academic_year("2025-26")


def test_a_leaver_counts_in_periods_that_started_before_they_left():
    spring = PeriodRef("2025/26", "SPR1")  # starts 1 January 2026
    assert on_roll_during(None, spring)
    assert on_roll_during(date(2026, 1, 1), spring)
    assert not on_roll_during(date(2025, 12, 19), spring)
