"""The statutory rules with real values: eligibility, outcome labels, prior attainment, leavers."""

from collections import Counter
from datetime import date

import pytest

from tidemark_schemas.progress import PriorAttainment, ProgressCategory, progress_category
from tidemark_schemas.statutory import COMPONENTS, Assessment, StatutoryValue
from tidemark_schemas.statutory_measures import figures
from tidemark_schemas.vocabulary import EYFS_GOALS, GLD_GOALS, Band, YearGroup
from tidemark_statutory.domain.outcomes import ResultKey, outcomes, prior_attainment, statutory_leaver

Y = "2025/26"
KS2, KS1, EYFS, PHONICS, MTC = (
    Assessment.KS2,
    Assessment.KS1,
    Assessment.EYFS,
    Assessment.PHONICS,
    Assessment.MTC,
)
Results = dict[ResultKey, StatutoryValue]


def v(mark: int | None = None, scaled: int | None = None, code: str | None = None) -> StatutoryValue:
    return StatutoryValue(mark=mark, scaled_score=scaled, code=code)


def results(assessment: Assessment, year: str = Y, **components: StatutoryValue) -> Results:
    return {(year, assessment, component): value for component, value in components.items()}


def measures(pupil: Results, year: str = Y) -> dict[str, str]:
    """The pupil's outcome label per measure in one year."""
    return {m: label for (y, m), label in outcomes(pupil).items() if y == year}


def eyfs(codes: dict[str, str], year: str = Y) -> Results:
    return {(year, EYFS, goal): v(code=code) for goal, code in codes.items()}


ALL_EXPECTED = {goal: "2" for goal in EYFS_GOALS}


# --- KS2: the seed's worked example ---------------------------------------------------------------


def seed_cohort() -> list[Results]:
    """30 Year 6 pupils as in the product's eligibility example."""
    full = (
        [
            results(
                KS2,
                reading_test=v(30, 105),
                maths_test=v(80, 112),
                writing_ta=v(code="EXS"),
                science_ta=v(code="EXS"),
            )
        ]
        * 20
        + [
            results(
                KS2,
                reading_test=v(45, 111),
                maths_test=v(100, 110),
                writing_ta=v(code="GDS"),
                science_ta=v(code="EXS"),
            )
        ]
        * 5
        + [
            results(
                KS2,
                reading_test=v(code="B"),
                reading_ta=v(code="PK6"),
                maths_test=v(code="B"),
                maths_ta=v(code="PK6"),
                writing_ta=v(code="PK6"),
                science_ta=v(code="HNM"),
            )
        ]
        * 2
    )
    nothing: Results = {}
    no_science = results(KS2, reading_test=v(22, 100), maths_test=v(55, 99), writing_ta=v(code="EXS"))
    reading_and_writing_ta_only = results(KS2, reading_ta=v(code="PK4"), writing_ta=v(code="WTS"))
    return [*full, nothing, no_science, reading_and_writing_ta_only]


def test_seed_example_eligibility_across_thirty_pupils():
    cohort = seed_cohort()
    assert len(cohort) == 30
    eligible = Counter(
        m
        for pupil in cohort
        for m in measures(pupil)
        if m in ("ks2.reading", "ks2.writing", "ks2.maths", "ks2.science", "ks2.rwm")
    )
    assert eligible == {
        "ks2.reading": 29,
        "ks2.writing": 29,
        "ks2.maths": 28,
        "ks2.science": 27,
        "ks2.rwm": 28,
    }


def test_seed_example_headline_figures_from_label_counts():
    counts: dict[str, Counter[str]] = {}
    for pupil in seed_cohort():
        for measure, label in measures(pupil).items():
            counts.setdefault(measure, Counter())[label] += 1
    rwm = figures("ks2.rwm", counts["ks2.rwm"])
    assert rwm["eligible"] == 28
    assert rwm["exs_plus_pct"] == pytest.approx(100 * 25 / 28)
    assert rwm["gds_pct"] == pytest.approx(100 * 5 / 28)
    maths = figures("ks2.maths", counts["ks2.maths"])
    assert maths["exs_plus_pct"] == pytest.approx(100 * 25 / 28) and maths["gds_pct"] == pytest.approx(
        100 * 25 / 28
    )
    assert figures("ks2.science", counts["ks2.science"]) == {
        "eligible": 27,
        "exs_plus_pct": pytest.approx(2500 / 27),
    }
    assert figures("ks2.reading_ss", counts["ks2.reading_ss"]) == {
        "pupils": 26,
        "average": pytest.approx((20 * 105 + 5 * 111 + 100) / 26),
    }


# --- KS2 thresholds and eligibility --------------------------------------------------------------


@pytest.mark.parametrize(
    ("scaled", "label"), [(80, "NOT"), (99, "NOT"), (100, "EXS"), (109, "EXS"), (110, "GDS"), (120, "GDS")]
)
@pytest.mark.parametrize("subject", ["reading", "maths", "gps"])
def test_ks2_scaled_score_thresholds_100_expected_110_higher(subject, scaled, label):
    found = measures(results(KS2, **{f"{subject}_test": v(20, scaled)}))
    assert found[f"ks2.{subject}"] == label
    assert found[f"ks2.{subject}_ss"] == str(scaled)


def test_a_raw_mark_without_scaled_score_is_eligible_not_met_and_not_in_the_average():
    found = measures(results(KS2, reading_test=v(mark=2, code="N"), maths_test=v(mark=40)))
    assert found == {"ks2.reading": "NOT", "ks2.maths": "NOT"}


def test_missing_test_falls_back_to_the_teacher_assessment():
    assert measures(results(KS2, reading_test=v(code="M"), reading_ta=v(code="PK2"))) == {
        "ks2.reading": "NOT"
    }
    assert measures(results(KS2, reading_test=v(code="M"))) == {}


def test_the_test_wins_over_a_teacher_assessment():
    found = measures(results(KS2, maths_test=v(70, 104), maths_ta=v(code="PK6")))
    assert found == {"ks2.maths": "EXS", "ks2.maths_ss": "104"}


@pytest.mark.parametrize("code", ["L", "F", "P"])
def test_left_future_or_previous_in_any_component_takes_the_pupil_out_of_the_subject(code):
    pupil = results(
        KS2,
        reading_test=v(30, 106),
        reading_ta=v(code=code),
        maths_test=v(code=code),
        maths_ta=v(code="PK3"),
        writing_ta=v(code="EXS"),
    )
    assert measures(pupil) == {"ks2.writing": "EXS"}


def test_gps_is_the_test_only():
    assert "ks2.gps" not in measures(results(KS2, reading_ta=v(code="PK1"), gps_test=v(code="M")))
    assert measures(results(KS2, gps_test=v(code="B")))["ks2.gps"] == "NOT"


@pytest.mark.parametrize(
    ("reading", "maths", "writing", "rwm"),
    [
        (110, 110, "GDS", "GDS"),
        (120, 115, "EXS", "EXS"),
        (100, 100, "EXS", "EXS"),
        (110, 99, "GDS", "NOT"),
        (105, 105, "WTS", "NOT"),
    ],
)
def test_ks2_combined_needs_the_standard_in_all_three(reading, maths, writing, rwm):
    pupil = results(KS2, reading_test=v(30, reading), maths_test=v(60, maths), writing_ta=v(code=writing))
    assert measures(pupil)["ks2.rwm"] == rwm


def test_ks2_combined_needs_eligibility_in_all_three():
    found = measures(results(KS2, reading_test=v(30, 110), maths_test=v(60, 110)))
    assert "ks2.rwm" not in found and found["ks2.reading"] == "GDS"
    with_ta = measures(results(KS2, reading_ta=v(code="EM"), maths_ta=v(code="A"), writing_ta=v(code="EM")))
    assert with_ta["ks2.rwm"] == "NOT"


# --- every code of every code table ------------------------------------------------------------

_TEST = {
    **dict.fromkeys(["N", "A", "B", "J", "U", "T", "H", "Q", "D"], "NOT"),
    **dict.fromkeys(["L", "M", "F", "P"], None),
}
_NOT_ELIGIBLE = dict.fromkeys(["L", "F", "P"], None)
_KS2_RM_TA = {**dict.fromkeys([f"PK{n}" for n in range(1, 7)] + ["EM", "A"], "NOT"), **_NOT_ELIGIBLE}
_KS2_WRITING = {
    "GDS": "GDS",
    "EXS": "EXS",
    **dict.fromkeys([f"PK{n}" for n in range(1, 7)] + ["WTS", "EM", "A", "Q"], "NOT"),
    **_NOT_ELIGIBLE,
}
_SCIENCE = {"EXS": "EXS", "HNM": "NOT", "A": "NOT", **_NOT_ELIGIBLE}
_KS1 = {
    "GDS": "GDS",
    "EXS": "EXS",
    **dict.fromkeys([f"PK{n}" for n in range(1, 5)] + ["WTS", "EM", "A", "Q", "D"], "NOT"),
    **_NOT_ELIGIBLE,
}
_PHONICS = {"Wa": "MET", **dict.fromkeys(["Wt", "A", "D", "Q"], "NOT"), "L": None}
_MTC = {**dict.fromkeys(["A", "U", "B", "J", "M"], "NT"), "L": None}

CODE_OUTCOMES: dict[tuple[Assessment, str], tuple[str, dict[str, str | None]]] = {
    (KS2, "reading_test"): ("ks2.reading", _TEST),
    (KS2, "maths_test"): ("ks2.maths", _TEST),
    (KS2, "gps_test"): ("ks2.gps", _TEST),
    (KS2, "reading_ta"): ("ks2.reading", _KS2_RM_TA),
    (KS2, "maths_ta"): ("ks2.maths", _KS2_RM_TA),
    (KS2, "writing_ta"): ("ks2.writing", _KS2_WRITING),
    (KS2, "science_ta"): ("ks2.science", _SCIENCE),
    (KS1, "reading_ta"): ("ks1.reading", _KS1),
    (KS1, "writing_ta"): ("ks1.writing", _KS1),
    (KS1, "maths_ta"): ("ks1.maths", _KS1),
    (KS1, "science_ta"): ("ks1.science", _SCIENCE),
    (PHONICS, "year1"): ("phonics.y1", _PHONICS),
    (PHONICS, "year2"): ("phonics.y2", _PHONICS),
    (MTC, "score"): ("mtc.score", _MTC),
}
"""For a pupil whose only value is the code: the measure it decides and the label (None: not eligible)."""


def test_the_code_expectations_cover_exactly_every_code_table():
    tables = {
        (a, c): set(spec.codes)
        for a, comps in COMPONENTS.items()
        if a is not EYFS
        for c, spec in comps.items()
    }
    assert tables == {key: set(expected) for key, (_, expected) in CODE_OUTCOMES.items()}


@pytest.mark.parametrize(
    ("assessment", "component", "code"),
    [
        pytest.param(a, c, code, id=f"{a}-{c}-{code}")
        for a, comps in COMPONENTS.items()
        if a is not EYFS
        for c, spec in comps.items()
        for code in sorted(spec.codes)
    ],
)
def test_every_code_decides_eligibility_and_outcome(assessment, component, code):
    measure, expected = CODE_OUTCOMES[(assessment, component)]
    assert measures({(Y, assessment, component): v(code=code)}).get(measure) == expected[code]


@pytest.mark.parametrize("code", sorted(COMPONENTS[EYFS]["E01"].codes))
@pytest.mark.parametrize("goal", EYFS_GOALS)
def test_every_eyfs_code_in_every_goal(goal, code):
    found = measures(eyfs({**ALL_EXPECTED, goal: code}))
    expected = {
        "2": {"eyfs.gld": "YES", "eyfs.all_goals": "YES", "eyfs.goals": "17"},
        "1": {"eyfs.gld": "NO" if goal in GLD_GOALS else "YES", "eyfs.all_goals": "NO", "eyfs.goals": "16"},
        "A": {},
    }[code]
    assert found == expected


def test_eyfs_counts_only_a_complete_profile():
    assert measures(eyfs({g: "2" for g in EYFS_GOALS[:16]})) == {}


def test_eyfs_number_of_goals_at_expected():
    codes = {**{g: "1" for g in EYFS_GOALS}, "E01": "2", "E13": "2", "E17": "2"}
    assert measures(eyfs(codes)) == {"eyfs.gld": "NO", "eyfs.all_goals": "NO", "eyfs.goals": "3"}


# --- KS1 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reading", "writing", "maths", "rwm"),
    [
        ("GDS", "GDS", "GDS", "GDS"),
        ("GDS", "EXS", "GDS", "EXS"),
        ("EXS", "WTS", "GDS", "NOT"),
        ("PK4", "EM", "A", "NOT"),
    ],
)
def test_ks1_combined_from_teacher_assessment(reading, writing, maths, rwm):
    pupil = results(KS1, reading_ta=v(code=reading), writing_ta=v(code=writing), maths_ta=v(code=maths))
    assert measures(pupil)["ks1.rwm"] == rwm


def test_ks1_combined_needs_all_three_and_ignores_science():
    found = measures(
        results(
            KS1,
            reading_ta=v(code="EXS"),
            writing_ta=v(code="L"),
            maths_ta=v(code="EXS"),
            science_ta=v(code="EXS"),
        )
    )
    assert found == {"ks1.reading": "EXS", "ks1.maths": "EXS", "ks1.science": "EXS"}


# --- phonics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("mark", "label"), [(0, "NOT"), (31, "NOT"), (32, "MET"), (40, "MET")])
def test_phonics_standard_is_32_marks(mark, label):
    found = outcomes(results(PHONICS, "2024/25", year1=v(mark, code="Wa" if mark >= 32 else "Wt")))
    assert found == {("2024/25", "phonics.y1"): label, ("2025/26", "phonics.ks1"): label}


def test_phonics_met_in_year_1_no_retake():
    assert outcomes(results(PHONICS, "2024/25", year1=v(36, code="Wa"))) == {
        ("2024/25", "phonics.y1"): "MET",
        ("2025/26", "phonics.ks1"): "MET",
    }


def test_phonics_not_met_in_year_1_then_met_at_the_retake():
    pupil = results(PHONICS, "2024/25", year1=v(20, code="Wt")) | results(PHONICS, "2025/26", year2=v(35))
    assert outcomes(pupil) == {
        ("2024/25", "phonics.y1"): "NOT",
        ("2025/26", "phonics.y2"): "MET",
        ("2025/26", "phonics.ks1"): "MET",
    }


def test_phonics_absent_in_year_1_and_not_met_at_the_retake():
    pupil = results(PHONICS, "2024/25", year1=v(code="A")) | results(PHONICS, "2025/26", year2=v(code="Wt"))
    assert outcomes(pupil) == {
        ("2024/25", "phonics.y1"): "NOT",
        ("2025/26", "phonics.y2"): "NOT",
        ("2025/26", "phonics.ks1"): "NOT",
    }


def test_phonics_no_year_1_result_retake_counts_in_year_2_and_end_of_ks1():
    assert outcomes(results(PHONICS, "2025/26", year2=v(33, code="Wa"))) == {
        ("2025/26", "phonics.y2"): "MET",
        ("2025/26", "phonics.ks1"): "MET",
    }


def test_phonics_left_in_year_1_counts_only_at_the_retake():
    assert outcomes(results(PHONICS, "2024/25", year1=v(code="L"))) == {}
    pupil = results(PHONICS, "2024/25", year1=v(code="L")) | results(PHONICS, "2025/26", year2=v(12))
    assert outcomes(pupil) == {("2025/26", "phonics.y2"): "NOT", ("2025/26", "phonics.ks1"): "NOT"}


def test_phonics_a_pupil_who_met_in_year_1_is_not_in_the_retake_measure():
    pupil = results(PHONICS, "2024/25", year1=v(38)) | results(PHONICS, "2025/26", year2=v(30))
    assert outcomes(pupil) == {("2024/25", "phonics.y1"): "MET", ("2025/26", "phonics.ks1"): "MET"}


# --- MTC -------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [0, 24, 25])
def test_mtc_score_is_the_label(score):
    assert measures(results(MTC, score=v(score))) == {"mtc.score": str(score)}


# --- several assessments and years -----------------------------------------------------------


def test_each_year_and_assessment_stands_alone():
    pupil = (
        results(MTC, "2023/24", score=v(25))
        | results(KS2, "2025/26", writing_ta=v(code="GDS"))
        | results(KS1, "2021/22", science_ta=v(code="HNM"))
    )
    assert outcomes(pupil) == {
        ("2023/24", "mtc.score"): "25",
        ("2025/26", "ks2.writing"): "GDS",
        ("2021/22", "ks1.science"): "NOT",
    }


# --- prior attainment and progress ---------------------------------------------------------------


def ks1(reading: str, writing: str, maths: str, year: str = "2021/22") -> Results:
    return results(KS1, year, reading_ta=v(code=reading), writing_ta=v(code=writing), maths_ta=v(code=maths))


@pytest.mark.parametrize("year_group", [YearGroup.Y3, YearGroup.Y4, YearGroup.Y5, YearGroup.Y6])
@pytest.mark.parametrize(
    ("tas", "prior"),
    [
        (("GDS", "GDS", "GDS"), PriorAttainment.GREATER_DEPTH),
        (("GDS", "EXS", "GDS"), PriorAttainment.EXPECTED),
        (("EXS", "EXS", "EXS"), PriorAttainment.EXPECTED),
        (("EXS", "WTS", "GDS"), PriorAttainment.BELOW),
        (("PK3", "A", "EM"), PriorAttainment.BELOW),
        (("EXS", "L", "EXS"), None),
    ],
)
def test_years_3_to_6_prior_attainment_from_ks1_rwm(year_group, tas, prior):
    assert prior_attainment(ks1(*tas), year_group) is prior


def test_years_3_to_6_without_ks1_have_no_prior_attainment():
    assert prior_attainment(eyfs(ALL_EXPECTED, "2019/20"), YearGroup.Y4) is None
    assert (
        prior_attainment(results(KS1, reading_ta=v(code="EXS"), writing_ta=v(code="EXS")), YearGroup.Y3)
        is None
    )


@pytest.mark.parametrize("year_group", [YearGroup.Y1, YearGroup.Y2])
@pytest.mark.parametrize(
    ("codes", "prior"),
    [
        (ALL_EXPECTED, PriorAttainment.EXPECTED),
        ({**ALL_EXPECTED, "E15": "1"}, PriorAttainment.EXPECTED),
        ({**ALL_EXPECTED, "E05": "1"}, PriorAttainment.BELOW),
        ({**ALL_EXPECTED, "E05": "A"}, None),
    ],
)
def test_years_1_and_2_prior_attainment_is_gld(year_group, codes, prior):
    assert prior_attainment(eyfs(codes, "2024/25") | ks1("GDS", "GDS", "GDS"), year_group) is prior


def test_years_1_and_2_use_the_latest_year_with_an_eligible_profile():
    latest_gld = eyfs({**ALL_EXPECTED, "E09": "1"}, "2023/24") | eyfs(ALL_EXPECTED, "2024/25")
    assert prior_attainment(latest_gld, YearGroup.Y1) is PriorAttainment.EXPECTED
    latest_not_assessed = eyfs({**ALL_EXPECTED, "E09": "1"}, "2023/24") | eyfs(
        {**ALL_EXPECTED, "E01": "A"}, "2024/25"
    )
    assert prior_attainment(latest_not_assessed, YearGroup.Y2) is PriorAttainment.BELOW


def test_reception_has_no_prior_attainment():
    assert prior_attainment(eyfs(ALL_EXPECTED), YearGroup.R) is None


@pytest.mark.parametrize(
    ("codes", "categories"),
    [
        (ALL_EXPECTED, ["not_on_track_below", "on_track_at", "on_track_above"]),
        ({**ALL_EXPECTED, "E11": "1"}, ["on_track_below", "accelerated_at", "accelerated_above"]),
    ],
    ids=["gld", "no-gld"],
)
@pytest.mark.parametrize("year_group", [YearGroup.Y1, YearGroup.Y2])
def test_gld_and_no_gld_rows_for_years_1_and_2(year_group, codes, categories):
    prior = prior_attainment(eyfs(codes, "2024/25"), year_group)
    assert [progress_category(prior, band) for band in (Band.BELOW, Band.AT, Band.ABOVE)] == categories


def test_no_prior_result_is_not_categorised():
    prior = prior_attainment({}, YearGroup.Y5)
    assert prior is None
    assert progress_category(prior, Band.AT) is ProgressCategory.NOT_CATEGORISED


# --- leavers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left_on", "academic_year", "leaver"),
    [
        (None, Y, False),
        (date(2025, 10, 1), Y, True),
        (date(2026, 6, 30), Y, True),
        (date(2026, 7, 1), Y, False),
        (date(2026, 7, 20), Y, False),
        (date(2026, 7, 20), "2026/27", True),
        (date(2024, 3, 1), Y, True),
    ],
)
def test_a_statutory_leaver_left_before_1_july_at_the_end_of_the_year(left_on, academic_year, leaver):
    assert statutory_leaver(left_on, academic_year) is leaver
