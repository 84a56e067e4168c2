"""The attendance rules with the values `dfe-rules.md` section 7 gives: every register code's
category and possible-session rule, the formulas, the 10% / 50% boundaries, the headline cohort,
and the national comparators (only published figures)."""

from datetime import date

import pytest
from pydantic import ValidationError

from tidemark_schemas.attendance import (
    REGISTER_CODES,
    AttendanceFigures,
    Category,
    Sessions,
    attendance_band,
    cohort_year_groups,
    enrolment_counts,
    persistent_absentee,
    register_code,
    sessions_of,
    severe_absentee,
)
from tidemark_schemas.attendance_national import (
    NATIONAL_FIGURES,
    NationalGroup,
    NationalMeasure,
    NationalPeriod,
    Phase,
    comparators,
    national_period_of,
    national_period_to_date,
    reasons,
)
from tidemark_schemas.events import AttendanceMarked
from tidemark_schemas.vocabulary import YearGroup

PRESENT, ATTENDING, AUTH, UNAUTH = "present", "approved_activity", "authorised", "unauthorised"
NOT_COUNTED, UNAVOIDABLE, ADMIN, NO_MARK = "not_counted", "unavoidable", "administrative", "no_mark"

EXPECTED = {
    # code: (category, possible session) as dfe-rules.md 7.2 lists them
    "/": (PRESENT, True), "\\": (PRESENT, True), "L": (PRESENT, True),
    "K": (ATTENDING, True), "V": (ATTENDING, True), "P": (ATTENDING, True), "W": (ATTENDING, True),
    "B": (ATTENDING, True),
    "D": (NOT_COUNTED, False), "X": (NOT_COUNTED, False),
    "C1": (AUTH, True), "M": (AUTH, True), "J1": (AUTH, True), "S": (AUTH, True), "C2": (AUTH, True),
    "C": (AUTH, True), "T": (AUTH, True), "R": (AUTH, True), "I": (AUTH, True), "E": (AUTH, True),
    "Q": (UNAVOIDABLE, False), "Y1": (UNAVOIDABLE, False), "Y2": (UNAVOIDABLE, False),
    "Y3": (UNAVOIDABLE, False), "Y4": (UNAVOIDABLE, False), "Y5": (UNAVOIDABLE, False),
    "Y6": (UNAVOIDABLE, False), "Y7": (UNAVOIDABLE, False),
    "G": (UNAUTH, True), "N": (UNAUTH, True), "O": (UNAUTH, True), "U": (UNAUTH, True),
    "Z": (ADMIN, False), "#": (ADMIN, False),
    "-": (NO_MARK, False),
    # codes of earlier years, as the DfE counted them then (old J: attending, the Arbor reading)
    "H": (AUTH, True), "J": (ATTENDING, True), "Y": (UNAVOIDABLE, False), "F": (AUTH, True),
}


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_every_register_code_has_its_category_and_possible_session_rule(code, expected):
    entry = REGISTER_CODES[code]
    assert (entry.category.value, entry.possible) == expected
    assert entry.absence is (expected[0] in (AUTH, UNAUTH))


def test_the_table_holds_exactly_the_codes_tested():
    assert set(REGISTER_CODES) == set(EXPECTED)


def test_codes_of_2024_and_retired_codes_are_accepted_only_on_their_dates():
    before, after = date(2024, 7, 19), date(2024, 9, 4)
    assert register_code("Y1", after).category is Category.UNAVOIDABLE
    assert register_code("H", before).category is Category.AUTHORISED
    assert register_code("I", before).code == register_code("I", after).code == "I"
    with pytest.raises(ValueError, match="'Y1' is in force from 2024-08-19"):
        register_code("Y1", before)
    with pytest.raises(ValueError, match="'H' was retired on 2024-08-19"):
        register_code("H", after)
    with pytest.raises(ValueError, match="'F' was retired on 2013-09-01"):
        register_code("F", before)
    with pytest.raises(ValueError, match="unknown register code 'A'"):
        register_code("A", after)


def test_sessions_by_category_count_only_possible_sessions():
    week = {"/": 3, "\\": 3, "L": 1, "B": 1, "I": 1, "G": 1, "X": 2, "D": 1, "#": 2, "-": 1, "Y2": 1}
    assert sessions_of(week) == Sessions(possible=10, authorised=1, unauthorised=1)
    assert sessions_of(week).attended == 8


@pytest.mark.parametrize(
    ("absent", "possible", "persistent", "severe"),
    [
        (38, 380, True, False),  # exactly 10.0%: missed 10% or more, so 90.0% attendance is persistent
        (37, 380, False, False),
        (190, 380, True, True),  # exactly 50%
        (189, 380, True, False),
        (1, 10, True, False),
        (1, 11, False, False),
        (0, 0, False, False),  # no possible session: excluded
    ],
)
def test_persistent_and_severe_absence_boundaries_are_exact(absent, possible, persistent, severe):
    sessions = Sessions(possible, absent, 0)
    assert persistent_absentee(sessions) is persistent
    assert severe_absentee(sessions) is severe


def test_an_enrolment_adds_its_codes_and_with_a_possible_session_one_pupil():
    assert enrolment_counts({"/": 171, "\\": 171, "I": 30, "O": 8}) == {
        "/": 171, "\\": 171, "I": 30, "O": 8, "pupils": 1, "persistent": 1,  # 38 of 380
    }
    assert enrolment_counts({"/": 171, "\\": 172, "I": 30, "O": 7}, "S1|cell|") == {
        "S1|cell|/": 171, "S1|cell|\\": 172, "S1|cell|I": 30, "S1|cell|O": 7, "S1|cell|pupils": 1,  # 37 of 380
    }
    assert enrolment_counts({"/": 1, "I": 1}) == {"/": 1, "I": 1, "pupils": 1, "persistent": 1, "severe": 1}
    assert enrolment_counts({"X": 10, "#": 2}) == {"X": 10, "#": 2}  # no possible session: no pupil


def test_figures_are_session_weighted_from_sessions_by_code_and_none_without_possible_sessions():
    codes = {"/": 340, "\\": 341, "L": 10, "B": 12, "I": 30, "M": 8, "O": 15, "G": 4, "X": 6, "#": 4}
    figures = AttendanceFigures.of(codes, {"pupils": 2, "persistent": 1})
    assert figures.possible_sessions == 760
    assert figures.absence_pct == pytest.approx(7.5)  # (38 + 19) / 760
    assert figures.attendance_pct == pytest.approx(92.5)
    assert figures.authorised_absence_pct == pytest.approx(5.0)
    assert figures.unauthorised_absence_pct == pytest.approx(2.5)
    assert figures.persistent_absence_pct == pytest.approx(50.0)
    assert figures.severe_absence_pct == 0.0
    assert figures.reason_pct(codes["O"]) == pytest.approx(15 / 7.6)
    empty = AttendanceFigures.of({"X": 4}, {})
    assert (empty.attendance_pct, empty.absence_pct, empty.persistent_absence_pct) == (None, None, None)


def test_the_headline_cohort_is_years_1_to_6_and_reception_only_when_asked():
    assert cohort_year_groups() == frozenset(YearGroup) - {YearGroup.R}
    assert cohort_year_groups(include_reception=True) == frozenset(YearGroup)


def test_a_mark_is_for_a_school_day_with_a_known_code():
    mark = dict(trust_id="T", pupil_id="P1", school_id="S1", date="2025-09-08", session="AM", code="/",
                year_group="Y3", version=1)
    assert AttendanceMarked(**mark).code == "/"
    with pytest.raises(ValidationError, match="a Saturday"):
        AttendanceMarked(**{**mark, "date": "2025-09-13"})
    with pytest.raises(ValidationError, match=r"code\n  Input should be '/', '\\\\', 'L'"):
        AttendanceMarked(**{**mark, "code": "A"})
    with pytest.raises(ValidationError):
        AttendanceMarked(**{**mark, "session": "EVE"})


# -- national comparators -------------------------------------------------------------------------


def test_national_comparators_prefer_the_primary_figure_and_give_none_where_nothing_is_published():
    figures = comparators("2023/24", NationalPeriod.FULL_YEAR)
    assert figures[NationalMeasure.OVERALL_ABSENCE].value == 5.5
    assert figures[NationalMeasure.OVERALL_ABSENCE].phase is Phase.PRIMARY
    assert figures[NationalMeasure.AUTHORISED_ABSENCE].value == 3.9
    assert figures[NationalMeasure.UNAUTHORISED_ABSENCE].value == 1.6
    assert figures[NationalMeasure.PERSISTENT_ABSENCE] is None
    autumn = comparators("2024/25", NationalPeriod.AUTUMN)
    assert autumn[NationalMeasure.OVERALL_ABSENCE].value == 5.07
    assert autumn[NationalMeasure.PERSISTENT_ABSENCE].value == 19.2
    assert autumn[NationalMeasure.PERSISTENT_ABSENCE].phase is Phase.ALL_SCHOOLS
    assert all(figure is None for figure in comparators("2025/26", NationalPeriod.AUTUMN).values())
    assert all(figure is None for figure in comparators("2024/25", None).values())


def test_national_comparators_by_fsm_and_sen_where_given():
    fsm = comparators("2024/25", NationalPeriod.AUTUMN, NationalGroup.FSM)
    assert (fsm[NationalMeasure.OVERALL_ABSENCE].value, fsm[NationalMeasure.PERSISTENT_ABSENCE].value) == (10.0, 31.7)
    assert comparators("2024/25", NationalPeriod.AUTUMN, NationalGroup.SEN_EHC_PLAN)[
        NationalMeasure.OVERALL_ABSENCE].value == 13.1
    assert comparators("2023/24", NationalPeriod.FULL_YEAR, NationalGroup.FSM)[NationalMeasure.OVERALL_ABSENCE] is None
    assert {code: f.value for code, f in reasons("2023/24", NationalPeriod.FULL_YEAR).items()} == {
        "I": 3.5, "O": 1.7, "G": 0.5}


def test_every_national_figure_names_its_source_year_and_period_once():
    keys = [(f.academic_year, f.period, f.measure, f.phase, f.group, f.reason) for f in NATIONAL_FIGURES]
    assert len(keys) == len(set(keys))
    assert all(f.source.startswith("DfE") and 0 < f.value < 100 for f in NATIONAL_FIGURES)


def test_a_trust_period_compares_with_the_published_term_or_cumulative_period():
    assert national_period_of("AUT2") is national_period_of("AUT") is NationalPeriod.AUTUMN
    assert national_period_of("SPR1") is NationalPeriod.SPRING
    assert national_period_of("SUM1") is None
    assert national_period_to_date("AUT1") is NationalPeriod.AUTUMN
    assert national_period_to_date("SPR2") is national_period_to_date("SPR") is NationalPeriod.AUTUMN_SPRING
    assert national_period_to_date("SUM1") is NationalPeriod.FULL_YEAR


@pytest.mark.parametrize(("absent", "possible", "band"), [
    (0, 0, "unrecorded"), (0, 380, "regular"), (37, 380, "regular"), (38, 380, "persistent"),
    (189, 380, "persistent"), (190, 380, "severe"), (2, 2, "severe"),
])
def test_a_pupils_attendance_band_is_exclusive_with_the_10_and_50_percent_boundaries(absent, possible, band):
    assert attendance_band(Sessions(possible, absent, 0)).value == band
