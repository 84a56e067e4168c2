"""Progress categories (domain.md matrix) and statutory figures from label counts, with real values."""

import pytest

from tidemark_schemas.progress import CATEGORY_LABELS, PriorAttainment, ProgressCategory, progress_category
from tidemark_schemas.statutory_measures import MEASURES, figures
from tidemark_schemas.vocabulary import Band

P, C = PriorAttainment, ProgressCategory


def test_categories_are_in_the_products_display_order_with_its_labels():
    assert [(c.value, CATEGORY_LABELS[c]) for c in ProgressCategory] == [
        ("not_on_track_below", "Not on track and BELOW standard"),
        ("not_on_track_at", "Not on track but AT standard"),
        ("on_track_below", "On track but BELOW standard"),
        ("on_track_at", "On track and AT standard"),
        ("on_track_above", "On track and ABOVE standard"),
        ("accelerated_at", "Accelerated track and AT standard"),
        ("accelerated_above", "Accelerated track and ABOVE standard"),
        ("not_categorised", "Not categorised"),
    ]
    assert list(CATEGORY_LABELS) == list(ProgressCategory)


@pytest.mark.parametrize(
    ("prior", "current", "expected"),
    [
        (P.BELOW, Band.BELOW, C.ON_TRACK_BELOW),
        (P.BELOW, Band.AT, C.ACCELERATED_AT),
        (P.BELOW, Band.ABOVE, C.ACCELERATED_ABOVE),
        (P.EXPECTED, Band.BELOW, C.NOT_ON_TRACK_BELOW),
        (P.EXPECTED, Band.AT, C.ON_TRACK_AT),
        (P.EXPECTED, Band.ABOVE, C.ON_TRACK_ABOVE),
        (P.GREATER_DEPTH, Band.BELOW, C.NOT_ON_TRACK_BELOW),
        (P.GREATER_DEPTH, Band.AT, C.NOT_ON_TRACK_AT),
        (P.GREATER_DEPTH, Band.ABOVE, C.ON_TRACK_ABOVE),
    ],
)
def test_every_cell_of_the_progress_matrix(prior, current, expected):
    assert progress_category(prior, current) is expected


def test_only_pupils_who_started_below_expectation_are_accelerated():
    accelerated = {C.ACCELERATED_AT, C.ACCELERATED_ABOVE}
    assert {(p, b) for p in PriorAttainment for b in Band if progress_category(p, b) in accelerated} == {
        (P.BELOW, Band.AT), (P.BELOW, Band.ABOVE)}


def test_the_matrix_reaches_all_seven_categories():
    reached = {progress_category(p, b) for p in PriorAttainment for b in Band}
    assert reached == set(ProgressCategory) - {C.NOT_CATEGORISED}


@pytest.mark.parametrize("current", list(Band))
def test_a_pupil_with_a_band_but_no_prior_result_is_not_categorised(current):
    assert progress_category(None, current) is C.NOT_CATEGORISED


@pytest.mark.parametrize("prior", [*PriorAttainment, None])
def test_a_pupil_without_a_combined_band_is_not_in_the_view(prior):
    assert progress_category(prior, None) is None


def test_the_measures_and_their_labels():
    assert set(MEASURES) == {
        "ks2.reading",
        "ks2.writing",
        "ks2.maths",
        "ks2.rwm",
        "ks2.gps",
        "ks2.science",
        "ks2.reading_ss",
        "ks2.maths_ss",
        "ks2.gps_ss",
        "ks1.reading",
        "ks1.writing",
        "ks1.maths",
        "ks1.rwm",
        "ks1.science",
        "eyfs.gld",
        "eyfs.all_goals",
        "eyfs.goals",
        "phonics.y1",
        "phonics.y2",
        "phonics.ks1",
        "mtc.score",
    }
    assert all(m.id == key for key, m in MEASURES.items())
    assert MEASURES["ks2.rwm"].labels == ("GDS", "EXS", "NOT")
    assert MEASURES["ks1.science"].labels == ("EXS", "NOT")
    assert MEASURES["ks2.maths_ss"].labels == tuple(str(n) for n in range(80, 121))
    assert MEASURES["eyfs.gld"].labels == ("YES", "NO")
    assert MEASURES["eyfs.goals"].labels == tuple(str(n) for n in range(18))
    assert MEASURES["phonics.ks1"].labels == ("MET", "NOT")
    assert MEASURES["mtc.score"].labels == (*(str(n) for n in range(26)), "NT")


@pytest.mark.parametrize("measure_id", sorted(MEASURES))
def test_without_pupils_every_percentage_and_average_is_none_not_zero(measure_id):
    result = figures(measure_id, {})
    assert tuple(result) == MEASURES[measure_id].figure_names
    counts = {k: v for k, v in result.items() if k in ("eligible", "pupils", "took")}
    assert set(counts.values()) == {0}
    assert all(v is None for k, v in result.items() if k not in counts)


def test_threshold_measure_counts_exs_plus_and_gds_over_eligible():
    assert figures("ks2.reading", {"GDS": 3, "EXS": 5, "NOT": 2}) == {
        "eligible": 10,
        "exs_plus_pct": 80.0,
        "gds_pct": 30.0,
    }
    assert figures("ks1.rwm", {"NOT": 4}) == {"eligible": 4, "exs_plus_pct": 0.0, "gds_pct": 0.0}
    result = figures("ks2.rwm", {"GDS": 1, "EXS": 1, "NOT": 1})
    assert result["exs_plus_pct"] == pytest.approx(66.6666667)
    assert result["gds_pct"] == pytest.approx(33.3333333)


def test_science_has_no_greater_depth():
    assert figures("ks2.science", {"EXS": 7, "NOT": 1}) == {"eligible": 8, "exs_plus_pct": 87.5}


def test_average_scaled_score_is_over_pupils_with_a_scaled_score():
    assert figures("ks2.reading_ss", {"100": 2, "110": 1, "95": 1}) == {"pupils": 4, "average": 101.25}
    assert figures("ks2.gps_ss", {"120": 1}) == {"pupils": 1, "average": 120.0}


def test_eyfs_rates_and_average_goals():
    gld = figures("eyfs.gld", {"YES": 2, "NO": 1})
    assert gld["eligible"] == 3 and gld["pct"] == pytest.approx(66.6666667)
    assert figures("eyfs.all_goals", {"YES": 0, "NO": 4}) == {"eligible": 4, "pct": 0.0}
    assert figures("eyfs.goals", {"17": 2, "12": 1, "0": 1}) == {"pupils": 4, "average": 11.5}


def test_phonics_rate_is_met_over_eligible():
    assert figures("phonics.y1", {"MET": 4, "NOT": 1}) == {"eligible": 5, "pct": 80.0}
    assert figures("phonics.y2", {"NOT": 3}) == {"eligible": 3, "pct": 0.0}


def test_mtc_all_took_with_full_marks():
    assert figures("mtc.score", {"25": 3}) == {
        "eligible": 3,
        "took": 3,
        "average": 25.0,
        "full_marks_pct": 100.0,
    }


def test_mtc_an_absent_pupil_changes_full_marks_but_not_the_average():
    took_all = figures("mtc.score", {"25": 2, "20": 2})
    one_absent = figures("mtc.score", {"25": 2, "20": 2, "NT": 1})
    assert took_all == {"eligible": 4, "took": 4, "average": 22.5, "full_marks_pct": 50.0}
    assert one_absent == {"eligible": 5, "took": 4, "average": 22.5, "full_marks_pct": 40.0}


def test_mtc_nobody_took_it_average_is_none_but_full_marks_is_zero_percent():
    assert figures("mtc.score", {"NT": 2}) == {
        "eligible": 2,
        "took": 0,
        "average": None,
        "full_marks_pct": 0.0,
    }


def test_an_unknown_label_is_an_error_not_silently_dropped():
    with pytest.raises(ValueError, match="WTS"):
        figures("ks2.writing", {"WTS": 1})
    with pytest.raises(KeyError):
        figures("ks3.reading", {})
