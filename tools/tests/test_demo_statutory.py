"""The demo Trust's statutory results: EYFS profile, phonics, KS1, MTC and KS2 at national rates.

The default Trust is generated once for the module on a day after the 2025/26 assessments, so
it holds three years of statutory results (about 49,000); the tests that need another Trust use
a small one. The rates are pooled over the three years (what the generator calibrates), except
where a test says otherwise.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import httpx
import pytest

from tidemark_tools.demo import generator as generator_module
from tidemark_tools.demo import loader as loader_module
from tidemark_tools.demo.cli import main
from tidemark_tools.demo.generator import DemoTrust, generate_trust
from tidemark_tools.demo.loader import load_trust
from tidemark_tools.demo.statutory import (
    ASSESSMENT_DAY,
    HISTORY_YEARS,
    RESULTS_FROM,
    STATUTORY_NATIONAL_FIGURES,
    statutory_summary,
)
from tidemark_schemas.calendar import academic_year_of, format_academic_year, parse_academic_year
from tidemark_schemas.rules import at_or_above
from tidemark_schemas.statutory import (
    ASSESSMENT_YEAR_GROUP,
    COMPONENTS,
    PHONICS_PASS_MARK,
    Assessment,
    StatutoryLockScope,
    StatutoryRecord,
    normalised,
    problems,
)
from tidemark_schemas.vocabulary import EYFS_GOALS, YearGroup

TODAY = date(2026, 7, 15)  # after the 2025/26 assessments: 2023/24, 2024/25 and 2025/26 have results
YEARS = ("2023/24", "2024/25", "2025/26")
YEAR_GROUPS = tuple(YearGroup)


@pytest.fixture(scope="module")
def trust() -> DemoTrust:
    return generate_trust(seed=2026, today=TODAY)


@pytest.fixture(scope="module")
def figures(trust: DemoTrust) -> dict[str, float]:
    return statutory_summary(trust)


@pytest.fixture(scope="module")
def sheets(trust: DemoTrust) -> dict[tuple[str, str, Assessment], dict[str, StatutoryRecord]]:
    """(pupil, academic year, assessment) -> component -> record."""
    index: dict[tuple[str, str, Assessment], dict[str, StatutoryRecord]] = defaultdict(dict)
    for r in trust.statutory:
        assert r.component not in index[(r.pupil_id, r.academic_year, r.assessment)], r  # one each
        index[(r.pupil_id, r.academic_year, r.assessment)][r.component] = r
    return index


def small_trust(seed: int = 7, today: date = TODAY) -> DemoTrust:
    return generate_trust(seed=seed, schools=2, pupils_per_school=70, today=today)


def of(trust: DemoTrust, assessment: Assessment, component: str) -> list[StatutoryRecord]:
    return [r for r in trust.statutory if r.assessment is assessment and r.component == component]


# --- reproducibility and validity --------------------------------------------------------------


def test_the_same_seed_and_day_give_the_same_statutory_results_and_another_seed_others():
    first, again, other = small_trust(seed=7), small_trust(seed=7), small_trust(seed=8)
    assert first.statutory and first.statutory == again.statutory
    assert first.statutory_locks == again.statutory_locks
    assert [r.code for r in first.statutory] != [r.code for r in other.statutory]


def test_the_statutory_results_leave_the_summative_trust_untouched(monkeypatch: pytest.MonkeyPatch):
    """They draw from their own Random: without them, schools, pupils and results are the same."""
    with_them = small_trust(seed=11)
    monkeypatch.setattr(generator_module, "generate_statutory", lambda *args: ([], []))
    without = small_trust(seed=11)
    assert without.statutory == []
    assert (with_them.schools, with_them.pupils) == (without.schools, without.pupils)
    assert (with_them.assessments, with_them.locks) == (without.assessments, without.locks)


def test_every_record_passes_the_code_tables_and_round_trips_through_json(trust):
    assert len(trust.statutory) > 40_000
    for r in trust.statutory:
        assert problems(r.assessment, r.component, r.value) == [], r
        assert normalised(r.assessment, r.component, r.value) == r.value, r
    shapes = {(r.assessment, r.component, r.mark, r.scaled_score, r.code): r for r in trust.statutory}
    assert all(StatutoryRecord.model_validate(r.model_dump(mode="json")) == r for r in shapes.values())
    assert all(StatutoryLockScope.model_validate(s.model_dump(mode="json")) == s for s in trust.statutory_locks)


def test_every_component_of_every_assessment_is_generated(trust):
    generated = {(r.assessment, r.component) for r in trust.statutory}
    expected = {(a, c) for a, components in COMPONENTS.items() for c in components}
    assert generated == expected


# --- who sits what, when -----------------------------------------------------------------------


def year_group_in(pupil, academic_year: str) -> YearGroup | None:
    """The pupil's year group in an academic year, from the one on their record."""
    as_of = parse_academic_year(academic_year_of(pupil.left_on or TODAY))
    index = YEAR_GROUPS.index(pupil.year_group) - (as_of - parse_academic_year(academic_year))
    return YEAR_GROUPS[index] if 0 <= index < len(YEAR_GROUPS) else None


def test_each_assessment_is_taken_in_its_year_group_by_pupils_still_on_roll_in_june(trust):
    pupils = {p.pupil_id: p for p in trust.pupils}
    for r in trust.statutory:
        pupil = pupils[r.pupil_id]
        retake = (r.assessment, r.component) == (Assessment.PHONICS, "year2")
        expected = YearGroup.Y2 if retake else ASSESSMENT_YEAR_GROUP[r.assessment]
        assert year_group_in(pupil, r.academic_year) is expected, r
        assert r.school_id == pupil.school_id, r
        assessed_on = date(parse_academic_year(r.academic_year) + 1, *ASSESSMENT_DAY)
        assert pupil.left_on is None or pupil.left_on >= assessed_on, r


def test_the_statutory_cohorts_are_the_year_groups_assessed_in_the_summer(trust):
    """Nearly every pupil with summative results at SUM2 of a past year has that year's statutory
    results, and the other way round (the few differences moved in or out in June or July)."""
    summer: dict[tuple[str, YearGroup], set[str]] = defaultdict(set)
    for r in trust.assessments:
        if r.period == "SUM2" and r.academic_year in YEARS[:2]:
            summer[(r.academic_year, r.year_group)].add(r.pupil_id)
    taken: dict[tuple[str, Assessment], set[str]] = defaultdict(set)
    for r in trust.statutory:
        if r.component != "year2":  # the phonics retake is Year 2's
            taken[(r.academic_year, r.assessment)].add(r.pupil_id)
    for year in YEARS[:2]:
        for assessment, year_group in ASSESSMENT_YEAR_GROUP.items():
            statutory = taken[(year, assessment)]
            summative = summer[(year, year_group)]
            assert len(statutory ^ summative) <= 0.02 * len(summative), (year, assessment)


def in_window(years: set[str], window: tuple[str, ...] = YEARS) -> set[str]:
    return years & set(window)


def test_results_exist_only_for_assessments_already_taken_on_the_day():
    last_day_before = date(2026, *RESULTS_FROM) - date.resolution
    before, after = small_trust(today=last_day_before), small_trust(today=date(2026, *RESULTS_FROM))
    assert in_window({r.academic_year for r in before.statutory}) == {"2023/24", "2024/25"}
    assert in_window({r.academic_year for r in after.statutory}) == set(YEARS)
    in_the_autumn = small_trust(today=date(2025, 11, 5))
    assert in_window({r.academic_year for r in in_the_autumn.statutory}) == {"2023/24", "2024/25"}
    assert in_window({s.academic_year for s in in_the_autumn.statutory_locks}) == {"2023/24", "2024/25"}


def test_the_pupils_of_the_window_carry_their_earlier_eyfs_phonics_and_ks1_results():
    trust = small_trust(today=date(2026, *RESULTS_FROM))
    earlier = [r for r in trust.statutory if r.academic_year not in YEARS]
    first = parse_academic_year(YEARS[0])
    assert {r.assessment for r in earlier} == {Assessment.EYFS, Assessment.PHONICS, Assessment.KS1}
    assert min(parse_academic_year(r.academic_year) for r in earlier) == first - HISTORY_YEARS
    year6_of_first_year = {p.pupil_id for p in trust.pupils if p.year_group.value == "Y6" and p.left_on}
    ks1_ids = {r.pupil_id for r in earlier if r.assessment is Assessment.KS1}
    assert ks1_ids & year6_of_first_year  # the oldest pupils' progress has a KS1 start


def test_one_lock_per_school_and_year_with_results_covering_every_assessment(trust):
    scopes = [(s.school_id, s.academic_year) for s in trust.statutory_locks]
    expected = sorted({(r.school_id, r.academic_year) for r in trust.statutory})
    assert sorted(scopes) == expected and len(scopes) == len(set(scopes))
    years_with_results = {r.academic_year for r in trust.statutory}
    assert len(scopes) == len(trust.schools) * len(years_with_results)
    assert all(s.assessment is None for s in trust.statutory_locks)


def test_an_eyfs_profile_is_17_goals_expected_or_emerging_or_all_not_assessed(sheets):
    profiles = [goals for (_, _, a), goals in sheets.items() if a is Assessment.EYFS]
    assert all(tuple(goals) == EYFS_GOALS for goals in profiles)
    codes = [{r.code for r in goals.values()} for goals in profiles]
    assert all(c <= {"1", "2"} or c == {"A"} for c in codes)
    assert 0 < sum(1 for c in codes if c == {"A"}) <= 0.01 * len(profiles)  # rare


def test_only_pupils_who_did_not_meet_the_phonics_standard_in_year_1_retake_it(sheets):
    retakes = 0
    for (pupil_id, year, assessment), checks in sheets.items():
        if assessment is not Assessment.PHONICS or "year2" not in checks:
            continue
        assert "year1" not in checks  # a year-2 pupil's Year 1 check was the year before
        previous = format_academic_year(parse_academic_year(year) - 1)
        first = sheets.get((pupil_id, previous, Assessment.PHONICS), {}).get("year1")
        assert first is None or first.code != "Wa", pupil_id
        retakes += 1
    assert retakes > 300


def test_phonics_marks_agree_with_their_codes_and_are_left_skewed(trust):
    first = of(trust, Assessment.PHONICS, "year1")
    marks = [r.mark for r in first if r.mark is not None]
    assert all((r.code == "Wa") == (r.mark is not None and r.mark >= PHONICS_PASS_MARK) for r in first)
    assert {r.code for r in first if r.mark is None} <= {"A", "D"}
    assert Counter(marks).most_common(1)[0][0] >= 36  # the mode is near full marks
    assert statistics.mean(marks) < statistics.median(marks)  # a long tail of low marks
    assert 0.5 <= sum(1 for m in marks if m >= 36) / len(marks) <= 0.7


def test_ks2_pupils_have_every_test_and_ta_and_a_reading_or_maths_ta_only_when_working_below(sheets):
    for (pupil_id, _, assessment), results in sheets.items():
        if assessment is not Assessment.KS2:
            continue
        assert {"reading_test", "maths_test", "gps_test", "writing_ta", "science_ta"} <= set(results)
        for subject in ("reading", "maths"):
            below = results[f"{subject}_test"].code == "B"
            assert below == (f"{subject}_ta" in results), pupil_id
            if below:
                assert results[f"{subject}_ta"].code in {"EM", "PK1", "PK2", "PK3", "PK4", "PK5", "PK6"}
        on_pre_key_stage = any(r.code and r.code.startswith(("PK", "EM")) for r in results.values())
        if on_pre_key_stage and results["science_ta"].code != "A":
            assert results["science_ta"].code == "HNM", pupil_id


# --- national rates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "target", "tolerance"),
    [
        ("eyfs_gld", 68, 3),
        ("eyfs_all_goals", 67, 3),
        ("eyfs_writing", 71, 2),
        ("eyfs_gross_motor", 92, 2),
        ("phonics_y1", 80, 2.5),
        ("phonics_retake", 48, 5),
        ("phonics_by_end_y2", 89, 2.5),
        ("ks1_reading", 71, 3),
        ("ks1_writing", 62, 3),
        ("ks1_maths", 71, 3),
        ("ks1_rwm", 57, 3),
        ("ks1_reading_gds", 17.5, 2.5),
        ("ks1_maths_gds", 17.5, 2.5),
        ("ks1_writing_gds", 8, 2),
        ("mtc_full_marks", 37, 3),
        ("mtc_not_taken", 4, 1.5),
        ("ks2_reading", 74.5, 3),
        ("ks2_maths", 73.5, 3),
        ("ks2_gps", 73, 3),
        ("ks2_writing", 72, 3),
        ("ks2_science", 82, 3),
        ("ks2_rwm", 61, 3),
        ("ks2_rwm_higher", 8, 2.5),
        ("ks2_reading_higher", 28, 3),
        ("ks2_maths_higher", 25, 3),
        ("ks2_writing_gds", 13, 2),
    ],
)
def test_headline_rates_are_near_national(figures, measure, target, tolerance):
    assert target - tolerance <= figures[measure] <= target + tolerance


def test_eyfs_averages_about_14_goals_with_writing_lowest_and_gross_motor_highest(figures):
    assert 13.8 <= figures["eyfs_average_goals"] <= 14.4
    assert figures["eyfs_goal_lowest"] == figures["eyfs_writing"]
    assert figures["eyfs_goal_highest"] == figures["eyfs_gross_motor"]


def test_the_mtc_mode_is_full_marks_and_the_mean_about_21(trust, figures):
    scores = [r.mark for r in of(trust, Assessment.MTC, "score") if r.mark is not None]
    assert Counter(scores).most_common(1)[0][0] == 25
    assert 20.5 <= figures["mtc_mean"] <= 21.5
    not_taken = Counter(r.code for r in of(trust, Assessment.MTC, "score") if r.mark is None)
    assert not_taken.most_common(1)[0][0] == "B" and {"A", "U"} <= set(not_taken)


def test_ks2_scaled_scores_are_roughly_normal_around_105_and_a_few_pupils_do_not_sit(trust, figures):
    for component, mean in (("reading_test", 105.0), ("maths_test", 104.6), ("gps_test", 105.0)):
        records = of(trust, Assessment.KS2, component)
        scores = [r.scaled_score for r in records if r.scaled_score is not None]
        assert mean - 1 <= statistics.mean(scores) <= mean + 1, component
        assert 6 <= statistics.pstdev(scores) <= 9, component
        assert min(scores) < 90 and max(scores) == 120, component
        codes = Counter(r.code for r in records if r.mark is None)
        assert 0.03 <= sum(codes.values()) / len(records) <= 0.05, component
        assert codes.most_common(1)[0][0] == "B" and {"A", "U"} <= set(codes), component
    raw = [r for r in of(trust, Assessment.KS2, "reading_test") if r.scaled_score is not None]
    assert all(r.mark is not None and 0 <= r.mark <= 50 for r in raw)
    by_mark = defaultdict(set)
    for r in raw:
        by_mark[r.mark].add(r.scaled_score)
    assert all(len(scores) == 1 for scores in by_mark.values())  # one conversion per mark


def test_the_ks2_writing_ta_mix_is_national(trust):
    codes = Counter(r.code for r in of(trust, Assessment.KS2, "writing_ta"))
    total = sum(codes.values())
    share = {code: 100 * n / total for code, n in codes.items()}
    assert 11 <= share["GDS"] <= 15 and 56 <= share["EXS"] <= 62 and 17 <= share["WTS"] <= 23
    below = sum(v for code, v in share.items() if code not in {"GDS", "EXS", "WTS"})
    assert 6 <= below <= 10


def test_every_year_is_near_national_not_only_the_three_pooled(trust):
    for year in YEARS:
        year_figures = statutory_summary(trust, year)
        for measure, target in (("eyfs_gld", 68), ("phonics_y1", 80), ("ks1_rwm", 57), ("ks2_rwm", 61)):
            assert target - 7 <= year_figures[measure] <= target + 7, (year, measure)
        assert 20 <= year_figures["mtc_mean"] <= 22, year
    first = statutory_summary(trust, YEARS[0])  # its Year 2 pupils took the check the year before the window
    assert 89 - 7 <= first["phonics_by_end_y2"] <= 89 + 7


# --- gaps and agreement with the summative results ---------------------------------------------


def test_disadvantaged_pupils_trail_as_nationally(figures):
    assert 15 <= figures["ks2_rwm_disadvantaged_gap"] <= 29  # 2024: 45% vs 67%
    assert 10 <= figures["phonics_y1_disadvantaged_gap"] <= 24  # 67% vs 84%
    assert 12 <= figures["eyfs_gld_disadvantaged_gap"] <= 30
    assert 1.0 <= figures["mtc_mean_disadvantaged_gap"] <= 3.5  # 19.3 vs ~21.6


def test_sen_pupils_trail_far_behind_and_eal_pupils_catch_up_by_ks2(figures):
    assert 40 <= figures["phonics_y1_sen_support"] <= 62  # ~51%
    assert figures["phonics_y1_ehc_plan"] <= 35  # ~20%
    assert figures["ks2_rwm_sen_gap"] >= 25
    assert figures["eyfs_gld_eal_gap"] >= 3
    assert figures["ks2_rwm_eal_gap"] < figures["eyfs_gld_eal_gap"]
    assert 2 <= figures["ks2_rwm_gender_gap"] <= 11  # girls ahead


def test_statutory_results_agree_with_the_same_years_summer_judgements(trust, sheets):
    summer = {
        (r.pupil_id, r.academic_year, r.subject): at_or_above(r.band)
        for r in trust.assessments
        if r.period == "SUM2" and r.academic_year == "2024/25"
    }
    agree = Counter()
    for (pupil_id, year, assessment), results in sheets.items():
        if year != "2024/25":
            continue
        if assessment is Assessment.KS2:
            for subject in ("reading", "maths"):
                score = results[f"{subject}_test"].scaled_score
                if (judged := summer.get((pupil_id, year, subject))) is not None:
                    agree[judged == (score is not None and score >= 100)] += 1
        if assessment is Assessment.EYFS and (judged := summer.get((pupil_id, year, "E10"))) is not None:
            agree[judged == (results["E10"].code == "2")] += 1
    assert agree[True] >= 0.85 * (agree[True] + agree[False])


def test_the_summary_leaves_out_what_has_no_data():
    autumn = small_trust(today=date(2025, 11, 5))
    assert statutory_summary(autumn, "2025/26") == {}
    assert set(STATUTORY_NATIONAL_FIGURES) <= set(statutory_summary(small_trust()))


# --- loader and CLI ----------------------------------------------------------------------------


class RecordingApi:
    """A stand-in ingest API (httpx MockTransport: no network) that records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append((request.url.path, body))
        received = len(body) if isinstance(body, list) else 1
        return httpx.Response(200, json={"received": received, "changed": 0, "events": 0})


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> RecordingApi:
    recorder = RecordingApi()
    real_client = httpx.Client

    def client(**kwargs: Any) -> httpx.Client:
        return real_client(transport=httpx.MockTransport(recorder), **kwargs)

    monkeypatch.setattr(loader_module.httpx, "Client", client)
    return recorder


def test_the_loader_posts_statutory_batches_then_their_locks_after_the_summative_ones(api):
    trust = generate_trust(seed=3, schools=1, pupils_per_school=70, today=date(2025, 11, 5))
    report = load_trust(trust, "http://ingest.test", "secret-a", batch_size=500)

    paths = [path for path, _ in api.requests]
    last_summative_lock = max(i for i, path in enumerate(paths) if path == "/v1/assessments/lock")
    statutory_batches = -(-len(trust.statutory) // 500)
    assert paths[last_summative_lock + 1 :] == (
        ["/v1/statutory"] * statutory_batches + ["/v1/statutory/lock"] * len(trust.statutory_locks)
    )
    posted = [row for path, body in api.requests if path == "/v1/statutory" for row in body]
    assert all(len(body) <= 500 for path, body in api.requests if path == "/v1/statutory")
    assert [StatutoryRecord.model_validate(row) for row in posted] == trust.statutory
    locks = [body for path, body in api.requests if path == "/v1/statutory/lock"]
    assert locks == [lock.model_dump(mode="json", exclude_none=True) for lock in trust.statutory_locks]
    assert in_window({lock["academic_year"] for lock in locks}) == {"2023/24", "2024/25"}
    assert (report.statutory, report.statutory_locks) == (len(trust.statutory), len(locks))
    assert report.requests == len(api.requests)


def test_the_summary_command_prints_the_statutory_figures_of_each_year_with_results(capsys):
    assert main(["summary", "--schools", "1", "--seed", "5", "--today", "2026-03-10"]) == 0
    printed = json.loads(capsys.readouterr().out)["statutory"]
    assert list(printed["generated"]) == ["2023/24", "2024/25"]  # 2025/26 not taken yet in March
    assert {"eyfs_gld", "phonics_y1", "ks1_rwm", "mtc_mean", "ks2_rwm"} <= set(printed["generated"]["2024/25"])
    assert printed["national"]["ks2_rwm"] == STATUTORY_NATIONAL_FIGURES["ks2_rwm"]


def test_the_load_command_reports_the_statutory_results(api, capsys):
    argv = ["load", "--ingest-url", "http://ingest.test", "--token", "secret-a", "--schools", "1",
            "--pupils-per-school", "35", "--today", "2025-11-05"]
    assert main(argv) == 0
    assert " statutory results and 8 statutory locks " in capsys.readouterr().out  # 2 years + 6 of history
