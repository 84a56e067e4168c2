"""The demo Trust: reproducible, realistic rolls and national-looking figures; loader and CLI.

The default Trust is generated once for the module (about 4,000 pupils, 370,000 results); the
tests that need a second or third Trust use a small one.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import httpx
import pytest

from tidemark_tools.demo import loader as loader_module
from tidemark_tools.demo.cli import main
from tidemark_tools.demo.generator import DemoTrust, generate_trust, national_summary, roll_profile
from tidemark_tools.demo.loader import LoadError, load_trust
from tidemark_runtime.stack import DEMO_TOKEN_VARIABLE
from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.calendar import HALF_TERMS, PeriodCalendar, PeriodRef
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.rules import at_or_above, combined_rwm
from tidemark_schemas.vocabulary import EYFS_GOALS, Band, YearGroup, subjects_for

TODAY = date(2026, 3, 10)  # 2025/26, SPR2 started on 22 February
YEARS = ("2023/24", "2024/25", "2025/26")
LAST_COMPLETE_YEAR = "2024/25"
YEAR_GROUPS = tuple(YearGroup)


@pytest.fixture(scope="module")
def trust() -> DemoTrust:
    return generate_trust(seed=2026, today=TODAY)


@pytest.fixture(scope="module")
def end_of_year(trust: DemoTrust) -> dict[str, float]:
    return national_summary(trust, LAST_COMPLETE_YEAR, "SUM2")


@pytest.fixture(scope="module")
def sheets(trust: DemoTrust) -> dict[tuple[str, str, str], tuple[YearGroup, dict[str, Band]]]:
    """(pupil, academic year, period) -> (year group, subject -> band), indexed once."""
    index: dict[tuple[str, str, str], tuple[YearGroup, dict[str, Band]]] = {}
    for r in trust.assessments:
        index.setdefault((r.pupil_id, r.academic_year, r.period), (r.year_group, {}))[1][r.subject] = r.band
    return index


@pytest.fixture(scope="module")
def history(sheets) -> dict[str, dict[str, set[YearGroup]]]:
    """pupil -> academic year -> year groups on their results that year."""
    seen: dict[str, dict[str, set[YearGroup]]] = defaultdict(lambda: defaultdict(set))
    for (pupil_id, year, _), (year_group, _) in sheets.items():
        seen[pupil_id][year].add(year_group)
    return seen


def small_trust(seed: int = 7, today: date = TODAY) -> DemoTrust:
    return generate_trust(seed=seed, schools=2, pupils_per_school=70, today=today)


# --- reproducibility and shape -----------------------------------------------------------------


def test_the_same_seed_and_day_give_an_identical_trust_and_another_seed_a_different_one():
    first, again, other = small_trust(seed=7), small_trust(seed=7), small_trust(seed=8)
    assert first == again
    assert first.assessments != other.assessments
    assert [p.sex for p in first.pupils] != [p.sex for p in other.pupils]


def test_the_default_trust_has_twelve_named_schools_of_varying_size_and_about_4000_pupils(trust):
    assert [s.school_id for s in trust.schools] == [f"S{n:02d}" for n in range(1, 13)]
    assert trust.schools[0].name == "Oakfield Primary Academy"
    assert len({s.name for s in trust.schools}) == 12
    assert 3600 <= len(trust.current_roll) <= 4400
    rolls = Counter(p.school_id for p in trust.current_roll)
    assert min(rolls.values()) < 260 and max(rolls.values()) > 380  # 1-form to 2-form entry


def test_pupil_ids_are_unique_and_upn_like(trust):
    ids = [p.pupil_id for p in trust.pupils]
    assert len(ids) == len(set(ids))
    assert all(len(i) == 7 and i[0] == "P" and i[1:].isdigit() for i in ids)


def test_the_three_years_are_the_current_one_and_the_two_before(trust):
    assert trust.academic_years == YEARS
    assert (trust.current_year, trust.current_period) == ("2025/26", "SPR2")
    assert {r.academic_year for r in trust.assessments} == set(YEARS)


def test_every_record_is_valid_and_every_subject_fits_its_year_group(trust):
    for model, rows in (
        (SchoolRecord, trust.schools),
        (PupilRecord, trust.pupils),
        (LockScope, trust.locks),
    ):
        assert [model.model_validate(r.model_dump(mode="json")) for r in rows] == rows
    assert all(r.subject in subjects_for(r.year_group) for r in trust.assessments)
    # Each distinct shape of result re-validated from JSON (all 370,000 would dominate the run time).
    shapes = {
        (r.school_id, r.academic_year, r.period, r.year_group, r.subject, r.band): r
        for r in trust.assessments
    }
    assert all(AssessmentRecord.model_validate(r.model_dump(mode="json")) == r for r in shapes.values())


def test_reception_gets_all_17_goals_and_years_1_to_6_the_four_subjects_every_period(sheets):
    for key, (year_group, bands) in sheets.items():
        expected = EYFS_GOALS if year_group is YearGroup.R else ("reading", "writing", "maths", "science")
        assert tuple(bands) == expected, key
        if year_group is YearGroup.R:  # the 2021 profile has no "exceeding"
            assert Band.ABOVE not in bands.values(), key


# --- rolls over time ---------------------------------------------------------------------------


def test_cohorts_move_up_one_year_group_each_september(trust, history):
    moved = 0
    for pupil_id, by_year in history.items():
        assert all(len(groups) == 1 for groups in by_year.values()), pupil_id
        indexes = [YEAR_GROUPS.index(next(iter(by_year[y]))) for y in YEARS if y in by_year]
        years = [YEARS.index(y) for y in YEARS if y in by_year]
        assert [i - y for i, y in zip(indexes, years)] == [indexes[0] - years[0]] * len(indexes), pupil_id
        moved += len(indexes) - 1
    assert moved > 4000  # most pupils appear in more than one year


def test_a_pupil_record_carries_the_current_year_group_or_the_one_they_left_from(trust, history):
    for pupil in trust.pupils:
        year = YEARS[-1] if pupil.left_on is None else max(history[pupil.pupil_id])
        assert history[pupil.pupil_id][year] == {pupil.year_group}, pupil.pupil_id


def test_year_6_of_earlier_years_left_on_20_july(trust, history):
    for pupil in trust.pupils:
        for year in ("2023/24", "2024/25"):
            if history[pupil.pupil_id].get(year) == {YearGroup.Y6} and pupil.left_on is not None:
                assert pupil.left_on <= date(int(year[:4]) + 1, 7, 20)
        if history[pupil.pupil_id].get("2025/26") == {YearGroup.Y6}:
            assert pupil.left_on is None or pupil.left_on <= TODAY
    july_leavers = [p for p in trust.pupils if p.left_on in (date(2024, 7, 20), date(2025, 7, 20))]
    assert {p.year_group for p in july_leavers} == {YearGroup.Y6}
    assert 900 <= len(july_leavers) <= 1300  # two Year 6 cohorts of ~570


def test_a_few_pupils_leave_and_join_mid_year(trust, sheets):
    mid_year_leavers = [
        p for p in trust.pupils if p.left_on is not None and (p.left_on.month, p.left_on.day) != (7, 20)
    ]
    assert 0.01 * len(trust.current_roll) <= len(mid_year_leavers) <= 0.05 * len(trust.current_roll)
    first_period: dict[str, tuple[str, int]] = {}
    for pupil_id, year, period in sorted(sheets, key=lambda k: (k[1], HALF_TERMS.index(k[2]))):
        first_period.setdefault(pupil_id, (year, HALF_TERMS.index(period)))
    joiners = [pupil_id for pupil_id, (_, index) in first_period.items() if index > 0]
    assert 0.01 * len(trust.current_roll) <= len(joiners) <= 0.05 * len(trust.current_roll)


def test_no_result_is_for_a_period_that_started_after_the_pupil_left(trust, sheets):
    left_on = {p.pupil_id: p.left_on for p in trust.pupils if p.left_on is not None}
    for pupil_id, year, period in sheets:
        if pupil_id in left_on:
            assert PeriodCalendar.start_date(PeriodRef(year, period)) <= left_on[pupil_id]


def test_no_result_is_for_a_period_that_has_not_started(trust):
    started = {r.period for r in trust.assessments if r.academic_year == "2025/26"}
    assert started == {"AUT1", "AUT2", "SPR1", "SPR2"}


# --- current period and locks ------------------------------------------------------------------


def test_the_current_period_is_entered_for_about_85_percent_of_pupils_but_not_locked(trust):
    entered = {r.pupil_id for r in trust.assessments if (r.academic_year, r.period) == ("2025/26", "SPR2")}
    roll = {p.pupil_id for p in trust.current_roll}
    assert entered <= {p.pupil_id for p in trust.pupils}
    assert 0.78 <= len(entered & roll) / len(roll) <= 0.92
    assert not [lock for lock in trust.locks if (lock.academic_year, lock.period) == ("2025/26", "SPR2")]
    assert national_summary(trust, "2025/26", "SPR2") == {}  # drafts count in no figure


def test_every_earlier_period_is_locked_once_per_school_without_narrowing(trust):
    earlier = [(y, p) for y in YEARS for p in HALF_TERMS][: 2 * 6 + 3]
    expected = [(s.school_id, y, p) for y, p in earlier for s in trust.schools]
    scopes = [(lock.school_id, lock.academic_year, lock.period) for lock in trust.locks]
    assert sorted(scopes) == sorted(expected)
    assert all(lock.year_group is None and lock.subject is None for lock in trust.locks)


# --- characteristics ---------------------------------------------------------------------------


def test_characteristics_of_the_roll_are_in_england_primary_proportions(trust):
    profile = roll_profile(trust)
    assert 48 <= profile["male"] <= 54
    assert 20 <= profile["fsm6"] <= 30
    assert 0.1 <= profile["lac"] <= 1.5 and 0.1 <= profile["plac"] <= 1.5
    assert 10 <= profile["sen_k"] <= 17
    assert 1.5 <= profile["sen_e"] <= 4
    assert 17 <= profile["eal"] <= 27
    assert 55 <= profile["wbri"] <= 70


def test_ethnicity_covers_the_major_groups_in_national_shares(trust):
    codes = Counter(p.ethnicity for p in trust.current_roll)
    share = {code: 100 * n / len(trust.current_roll) for code, n in codes.items()}
    asian = sum(share.get(c, 0) for c in ("AIND", "APKN", "ABAN", "AOTH"))
    black = sum(share.get(c, 0) for c in ("BCRB", "BAFR", "BOTH"))
    mixed = sum(share.get(c, 0) for c in ("MWBC", "MWBA", "MWAS", "MOTH"))
    assert 8 <= asian <= 16 and 3.5 <= black <= 8.5 and 4 <= mixed <= 9
    assert 0.5 <= share.get("REFU", 0) + share.get("NOBT", 0) <= 3


def test_some_schools_are_much_more_disadvantaged_than_others(trust):
    by_school: dict[str, list[bool]] = defaultdict(list)
    for p in trust.current_roll:
        by_school[p.school_id].append(p.fsm6)
    shares = [100 * sum(flags) / len(flags) for flags in by_school.values()]
    assert max(shares) - min(shares) >= 12


# --- calibration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "national"),
    [
        ("y6_reading", 75),
        ("y6_writing", 72),
        ("y6_maths", 74),
        ("y6_rwm", 61),
        ("y6_reading_above", 25),
        ("y6_writing_above", 13),
        ("y6_maths_above", 25),
        ("gld", 68),
        ("eyfs_goal_lowest", 71),
        ("eyfs_goal_highest", 92),
        ("reading", 75),
        ("writing", 72),
        ("maths", 74),
        ("rwm", 61),
    ],
)
def test_summer_figures_of_the_last_complete_year_are_within_5pp_of_national(end_of_year, measure, national):
    assert national - 5 <= end_of_year[measure] <= national + 5


def test_disadvantaged_pupils_trail_by_about_20pp_and_girls_lead_by_about_6pp(end_of_year):
    assert 15 <= end_of_year["rwm_disadvantaged_gap"] <= 25
    assert 2 <= end_of_year["rwm_gender_gap"] <= 10


def test_every_year_group_from_1_to_6_is_near_national_rwm_in_summer(sheets):
    tally: dict[YearGroup, list[bool]] = defaultdict(list)
    for (_, year, period), (year_group, bands) in sheets.items():
        if (year, period) == (LAST_COMPLETE_YEAR, "SUM2") and year_group is not YearGroup.R:
            rwm = combined_rwm(bands)
            assert rwm is not None
            tally[year_group].append(at_or_above(rwm))
    assert set(tally) == set(YEAR_GROUPS[1:])
    assert all(54 <= 100 * sum(hits) / len(hits) <= 68 for hits in tally.values())


def test_teachers_are_more_cautious_in_autumn_than_in_summer(trust, end_of_year):
    autumn = national_summary(trust, LAST_COMPLETE_YEAR, "AUT1")
    assert 3 <= end_of_year["rwm"] - autumn["rwm"] <= 15
    assert 5 <= end_of_year["gld"] - autumn["gld"] <= 25


def test_ability_persists_across_years(sheets):
    """A pupil's reading judgement at the end of one year mostly stands at the end of the next."""
    reading = {
        (pupil_id, year): at_or_above(bands["reading"])
        for (pupil_id, year, period), (_, bands) in sheets.items()
        if period == "SUM2" and "reading" in bands
    }
    pairs = [
        (hit, reading[(p, "2024/25")])
        for (p, y), hit in reading.items()
        if y == "2023/24" and (p, "2024/25") in reading
    ]
    kept = sum(1 for before, after in pairs if before == after) / len(pairs)
    assert kept >= 0.8


# --- loader and CLI ----------------------------------------------------------------------------


class RecordingApi:
    """A stand-in ingest API (httpx MockTransport: no network) that records every request."""

    def __init__(self, refuse_path: str | None = None) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.refuse_path = refuse_path

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append((request.url.path, request.headers["authorization"], body))
        if request.url.path == self.refuse_path:
            refusal = {"detail": "the batch was rejected whole", "errors": [{"row": 0}]}
            return httpx.Response(422, json=refusal)
        received = len(body) if isinstance(body, list) else 1
        return httpx.Response(200, json={"received": received, "changed": 0, "events": 0})


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> RecordingApi:
    recorder = RecordingApi()
    real_client = httpx.Client

    def client(**kwargs: Any) -> httpx.Client:
        assert kwargs["timeout"] == 60.0
        return real_client(transport=httpx.MockTransport(recorder), **kwargs)

    monkeypatch.setattr(loader_module.httpx, "Client", client)
    return recorder


def test_the_loader_posts_schools_classes_pupils_batched_results_then_locks_with_the_token(api):
    trust = generate_trust(seed=3, schools=1, pupils_per_school=70, today=date(2025, 11, 5))
    report = load_trust(trust, "http://ingest.test/", "secret-a", batch_size=500)

    paths = [path for path, _, _ in api.requests]
    result_batches = -(-len(trust.assessments) // 500)
    pupil_batches = sum(-(-len(year) // 500) for year in trust.class_history) + -(-len(trust.pupils) // 500)
    assert paths == (
        ["/v1/schools", "/v1/classes"] + ["/v1/pupils"] * pupil_batches + ["/v1/assessments"] * result_batches
        + ["/v1/assessments/lock"] * len(trust.locks)
        + ["/v1/statutory"] * -(-len(trust.statutory) // 500) + ["/v1/statutory/lock"] * len(trust.statutory_locks)
    )
    assert {auth for _, auth, _ in api.requests} == {"Bearer secret-a"}
    assert api.requests[0][2] == [
        {"school_id": "S01", "name": "Oakfield Primary Academy", "assessment_model": SONAR_MODEL.model_dump(mode="json")}
    ]
    pupil = api.requests[2][2][0]
    assert set(pupil) == {
        "pupil_id", "school_id", "year_group", "sex", "fsm6", "lac", "plac", "sen", "eal", "ethnicity",
        "left_on", "class_id",
    }
    posted = sum(len(body) for path, _, body in api.requests if path == "/v1/assessments")
    assert posted == len(trust.assessments)
    assert all(len(body) <= 500 for path, _, body in api.requests if path == "/v1/assessments")
    locks = [body for path, _, body in api.requests if path == "/v1/assessments/lock"]
    assert locks[0] == {"school_id": "S01", "academic_year": "2023/24", "period": "AUT1"}
    assert (report.schools, report.pupils, report.assessments, report.locks) == (
        1, len(trust.pupils), len(trust.assessments), len(trust.locks)
    )
    assert report.requests == len(api.requests) and report.elapsed_seconds >= 0


def test_the_loader_stops_with_the_api_explanation_when_a_batch_is_refused(api):
    api.refuse_path = "/v1/pupils"
    trust = generate_trust(seed=3, schools=1, pupils_per_school=70, today=date(2025, 11, 5))
    with pytest.raises(LoadError, match=r"POST /v1/pupils failed with HTTP 422: .*rejected whole"):
        load_trust(trust, "http://ingest.test", "secret-a")
    assert [path for path, _, _ in api.requests] == ["/v1/schools", "/v1/classes", "/v1/pupils"]


def test_the_summary_command_prints_the_calibration_as_json(capsys):
    assert main(["summary", "--schools", "1", "--seed", "5", "--today", "2026-03-10"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["schools"] == 1 and printed["current_period"].startswith("2025/26 SPR2")
    assert list(printed["generated"]) == ["2023/24 SUM2", "2024/25 SUM2", "2025/26 SPR1"]
    assert set(printed["generated"]["2024/25 SUM2"]) >= {"y6_rwm", "gld", "reading", "rwm"}
    assert printed["national"]["y6_rwm"] == 61.0


def test_the_load_command_exits_1_and_explains_when_ingest_refuses(api, capsys):
    api.refuse_path = "/v1/assessments"
    argv = ["load", "--ingest-url", "http://ingest.test", "--token", "secret-a", "--schools", "1",
            "--pupils-per-school", "35", "--today", "2025-11-05"]
    assert main(argv) == 1
    assert "POST /v1/assessments failed with HTTP 422" in capsys.readouterr().err


def test_the_load_command_takes_a_token_starting_with_a_dash_from_the_environment(api, capsys, monkeypatch):
    monkeypatch.setenv(DEMO_TOKEN_VARIABLE, "-Zq3_token-that-looks-like-an-option")
    argv = ["load", "--ingest-url", "http://ingest.test", "--schools", "1", "--pupils-per-school", "35",
            "--today", "2025-11-05"]
    assert main(argv) == 0
    assert {auth for _, auth, _ in api.requests} == {"Bearer -Zq3_token-that-looks-like-an-option"}


def test_the_load_command_without_a_token_exits_2_and_names_both_ways_to_give_one(api, capsys, monkeypatch):
    monkeypatch.delenv(DEMO_TOKEN_VARIABLE, raising=False)
    assert main(["load", "--ingest-url", "http://ingest.test", "--schools", "1", "--today", "2025-11-05"]) == 2
    assert f"--token or {DEMO_TOKEN_VARIABLE}" in capsys.readouterr().err
    assert api.requests == []


def test_the_load_command_reports_what_it_loaded(api, capsys):
    argv = ["load", "--ingest-url", "http://ingest.test", "--token", "secret-a", "--schools", "1",
            "--pupils-per-school", "35", "--today", "2025-11-05"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("loaded 1 schools, ") and "current period 2025/26 AUT2 left unlocked" in out


def test_every_school_has_classes_every_year_and_each_pupil_one_class_per_year_on_roll():
    """Two classes per year group in the larger schools, one in the others; a pupil's classes of
    earlier years go first (`class_history`), then the class of their latest year on the record."""
    trust = generate_trust(seed=5, schools=3, pupils_per_school=330, today=TODAY)
    classes = {c.class_id: c for c in trust.classes}
    per_school_year = Counter((c.school_id, c.academic_year) for c in trust.classes)

    assert set(per_school_year) == {(s.school_id, y) for s in trust.schools for y in trust.academic_years}
    assert set(per_school_year.values()) <= {7, 14} and 14 in per_school_year.values()
    history = [record for year in trust.class_history for record in year]
    for year in trust.class_history:
        assert len({record.pupil_id for record in year}) == len(year)  # once a batch
    for record in [*history, *trust.pupils]:
        placed = classes[record.class_id]
        assert placed.school_id == record.school_id
    latest = {p.pupil_id: classes[p.class_id].academic_year for p in trust.pupils}
    for record in history:
        assert classes[record.class_id].academic_year < latest[record.pupil_id]
    on_roll_now = [p for p in trust.pupils if p.left_on is None]
    assert all(classes[p.class_id].academic_year == trust.current_year for p in on_roll_now)
    assert all(p.year_group in classes[p.class_id].year_groups for p in on_roll_now)
