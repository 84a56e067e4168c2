"""Attendance reports and dashboard (issue 12) over hand-written attendance counters: figures equal
to a hand-computed example, the headline cohort (Years 1-6, Reception when asked), groupings and
filters, scoping, national comparators where published, and bad windows refused with a 422."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tidemark_gateway.testing import GIRL_Y3, Gateway, cell
from tidemark_schemas.aggregates import attendance_keyspace, encode_field
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.vocabulary import SenProvision, Sex, YearGroup

YEAR = "2025/26"
BOY_Y4_DISADVANTAGED = cell(year_group=YearGroup.Y4, sex=Sex.M, disadvantaged=True, sen=SenProvision.K)
RECEPTION = cell(year_group=YearGroup.R)


async def seed_window(gateway: Gateway, year: str, window: str, school: str, at_cell, sessions: dict[str, int],
                      pupils: int, persistent: int = 0, severe: int = 0) -> None:
    keys = attendance_keyspace(gateway.settings.redis_prefix, gateway.seed.keys.trust_id)
    for label, n in sessions.items():
        await gateway.seed.redis.hincrby(keys.attendance_sessions(year, window, school), encode_field(at_cell, label), n)
    for label, n in (("pupils", pupils), ("persistent", persistent), ("severe", severe)):
        if n:
            await gateway.seed.redis.hincrby(keys.attendance_pupils(year, window, school), encode_field(at_cell, label), n)


@pytest.fixture
async def trust(gateway: Gateway) -> Gateway:
    """Oak (S1): two Year 3 girls, 760 possible sessions, 30 illness and 8 unauthorised holiday: one
    of them missed 38 of 380 (persistent). Ash (S2): a disadvantaged Year 4 boy on SEN support who
    missed 190 of 380 (unauthorised: persistent and severe), and a Reception child (100 present,
    100 not of compulsory school age)."""
    await gateway.seed.school("S1", "Oak")
    await gateway.seed.school("S2", "Ash")
    for window in ("YTD", "AUT1"):
        await seed_window(gateway, YEAR, window, "S1", GIRL_Y3, {"/\\": 722, "I": 30, "G": 8}, pupils=2, persistent=1)
        await seed_window(gateway, YEAR, window, "S2", BOY_Y4_DISADVANTAGED, {"/\\": 190, "N": 190}, pupils=1,
                          persistent=1, severe=1)
        await seed_window(gateway, YEAR, window, "S2", RECEPTION, {"/\\": 100, "X": 100}, pupils=1)
    return gateway


async def test_the_year_to_date_by_school_equals_the_hand_computed_figures(trust: Gateway) -> None:
    answer = await trust.get("/v1/reports/attendance", academic_year=YEAR)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["window"] == "YTD" and report["national"] is None  # nothing published for 2025/26
    everyone = report["all_pupils"]
    assert (everyone["pupils"], everyone["possible_sessions"]) == (3, 1140)
    assert everyone["absence_pct"] == pytest.approx(228 / 1140 * 100)
    assert everyone["attendance_pct"] == pytest.approx(80.0)
    assert everyone["authorised_absence_pct"] == pytest.approx(30 / 1140 * 100)
    assert everyone["unauthorised_absence_pct"] == pytest.approx(198 / 1140 * 100)
    assert (everyone["persistent_absentees"], everyone["severe_absentees"]) == (2, 1)
    assert everyone["persistent_absence_pct"] == pytest.approx(200 / 3)
    assert everyone["severe_absence_pct"] == pytest.approx(100 / 3)
    rows = {row["label"]: row for row in report["rows"]}
    assert list(rows) == ["Ash", "Oak"]
    assert rows["Oak"]["absence_pct"] == pytest.approx(5.0) and rows["Oak"]["persistent_absentees"] == 1
    assert rows["Ash"]["pupils"] == 1 and rows["Ash"]["severe_absence_pct"] == pytest.approx(100.0)


async def test_last_updated_is_the_attendance_projections_latest_change(trust: Gateway) -> None:
    keys = attendance_keyspace(trust.settings.redis_prefix, trust.seed.keys.trust_id)
    await trust.seed.updated("2026-01-05T10:00:00+00:00")
    await trust.seed.redis.set(keys.updated_at, "2026-01-06T09:00:00+00:00")
    report = (await trust.get("/v1/reports/attendance", academic_year=YEAR)).json()
    assert report["last_updated"] == "2026-01-06T09:00:00+00:00"


async def test_reception_counts_only_when_asked(trust: Gateway) -> None:
    asked = (await trust.get("/v1/reports/attendance", academic_year=YEAR, include_reception="true")).json()
    assert (asked["all_pupils"]["pupils"], asked["all_pupils"]["possible_sessions"]) == (4, 1240)
    alone = (await trust.get("/v1/reports/attendance", academic_year=YEAR, year_group="R", by="year_group")).json()
    assert [(row["label"], row["pupils"], row["attendance_pct"]) for row in alone["rows"]] == [("Reception", 1, 100.0)]


async def test_groupings_and_filters_as_every_report(trust: Gateway) -> None:
    report = (await trust.get("/v1/reports/attendance", academic_year=YEAR, period="AUT1", by="disadvantaged")).json()
    assert [(row["group"], row["pupils"]) for row in report["rows"]] == [("disadvantaged", 1), ("not_disadvantaged", 2)]
    filtered = (await trust.get("/v1/reports/attendance", academic_year=YEAR, sex="F")).json()
    assert filtered["all_pupils"]["possible_sessions"] == 760


async def test_a_school_scoped_viewer_reads_its_school_only(trust: Gateway) -> None:
    report = (await trust.get("/v1/reports/attendance", token="s1-viewer", academic_year=YEAR)).json()
    assert [row["group"] for row in report["rows"]] == ["S1"]
    assert report["all_pupils"]["possible_sessions"] == 760
    assert (await trust.get("/v1/reports/attendance", token="s1-viewer", academic_year=YEAR, school="S2")).status_code == 403


async def test_absence_by_code_is_a_share_of_possible_sessions(trust: Gateway) -> None:
    report = (await trust.get("/v1/reports/attendance-codes", academic_year=YEAR)).json()
    codes = {code["code"]: code for code in report["all_pupils"]["codes"]}
    assert {code: entry["sessions"] for code, entry in codes.items()} == {"/\\": 912, "I": 30, "G": 8, "N": 190}
    assert codes["I"]["pct_of_possible"] == pytest.approx(30 / 1140 * 100)
    assert codes["I"]["category"] == "authorised" and codes["N"]["category"] == "unauthorised"


async def test_national_figures_stand_beside_the_trusts_where_published(trust: Gateway) -> None:
    await seed_window(trust, "2024/25", "AUT1", "S1", GIRL_Y3, {"/\\": 380}, pupils=1)
    report = (await trust.get("/v1/reports/attendance", academic_year="2024/25", period="AUT1",
                              by="disadvantaged")).json()
    assert report["national"]["absence_pct"]["value"] == 5.07  # primary, autumn 2024/25
    assert report["national"]["absence_pct"]["phase"] == "primary"
    assert report["national"]["persistent_absence_pct"]["value"] == 19.2
    by_group = {entry["group"]: entry["national"] for entry in report["national_by_group"]}
    assert by_group["disadvantaged"]["absence_pct"]["value"] == 10.0


async def test_the_dashboard_shows_this_week_the_period_the_year_and_the_schools_ranked(trust: Gateway) -> None:
    await seed_window(trust, YEAR, "2025-09-08", "S1", GIRL_Y3, {"/\\": 18, "I": 2}, pupils=2, persistent=1)
    await seed_window(trust, YEAR, "2025-09-15", "S1", GIRL_Y3, {"/\\": 20}, pupils=2)
    board = (await trust.get("/v1/dashboards/attendance", academic_year=YEAR)).json()
    assert (board["week"], board["period"]) == ("2025-09-15", "AUT1")
    assert board["this_week"]["figures"]["attendance_pct"] == 100.0
    assert board["last_week"]["figures"]["attendance_pct"] == pytest.approx(90.0)
    assert board["change_since_last_week"] == pytest.approx(10.0)
    assert board["year_to_date"]["figures"]["possible_sessions"] == 1140
    assert [row["label"] for row in board["schools"]] == ["Oak", "Ash"]
    gaps = {gap["gap"]: gap for gap in board["gaps"]}
    assert gaps["disadvantaged"]["absence_pct"] == pytest.approx(50.0 - 5.0)


async def test_the_trend_has_every_period_and_week_of_three_years(trust: Gateway) -> None:
    trend = (await trust.get("/v1/reports/attendance-trend", academic_year=YEAR)).json()
    assert [(p["academic_year"], p["window"]) for p in trend["periods"]][-6:][0] == (YEAR, "AUT1")
    assert len(trend["periods"]) == 18 and len(trend["weeks"]) > 100
    aut1 = next(p for p in trend["periods"] if (p["academic_year"], p["window"]) == (YEAR, "AUT1"))
    assert aut1["all_pupils"]["possible_sessions"] == 1140


async def test_a_trust_without_schools_or_marks_has_empty_figures_not_an_error(gateway: Gateway) -> None:
    report = (await gateway.get("/v1/reports/attendance", academic_year=YEAR)).json()
    assert report["rows"] == [] and report["all_pupils"]["pupils"] == 0
    assert report["all_pupils"]["attendance_pct"] is None
    board = await gateway.get("/v1/dashboards/attendance", academic_year=YEAR)
    assert board.status_code == 200 and board.json()["this_week"] is None
    trend = await gateway.get("/v1/reports/attendance-trend", academic_year=YEAR)
    assert trend.status_code == 200 and len(trend.json()["periods"]) == 18


async def test_the_calendar_dates_are_the_english_default(gateway: Gateway) -> None:
    dates = (await gateway.get("/v1/calendar/dates", academic_year=YEAR)).json()
    aut1, aut2 = dates["periods"][0], dates["periods"][1]
    assert (aut1["period"], aut1["first_school_day"], aut1["last_school_day"]) == ("AUT1", "2025-09-03", "2025-10-24")
    assert (aut1["covers_from"], aut2["covers_from"]) == ("2025-09-01", "2025-10-25")
    assert dates["periods"][-1]["covers_to"] == "2026-08-31"
    assert dates["weeks"][0] == "2025-09-01" and "2025-10-27" not in dates["weeks"]  # half-term


@pytest.mark.parametrize(("params", "field"), [
    ({"period": "AUT1", "week": "2025-09-08"}, "week"),
    ({"week": "2025-09-09"}, "week"),
    ({"week": "2024-09-09"}, "week"),
    ({"period": "WINTER"}, "period"),
])
async def test_a_window_that_is_none_of_the_years_is_refused(trust: Gateway, params: dict, field: str) -> None:
    answer = await trust.get("/v1/reports/attendance", academic_year=YEAR, **params)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", field]


# -- attainment beside attendance, and the persistent absentees by pupil ---------------------------


async def seed_attainment(gateway: Gateway, school: str, at_cell, labels: dict[str, int], measure: str = "reading",
                          period: str = "AUT1") -> None:
    keys = attendance_keyspace(gateway.settings.redis_prefix, gateway.seed.keys.trust_id)
    for label, n in labels.items():
        await gateway.seed.redis.hincrby(keys.attendance_attainment(YEAR, period, measure, school),
                                         encode_field(at_cell, label), n)


@pytest.fixture
async def attainment(gateway: Gateway) -> Gateway:
    """Reading in AUT1. Oak: 2 persistent absentees AT, 1 severe BELOW, 3 regular AT and 1 BELOW, 1
    pupil with no possible session ABOVE. Ash: 1 severe AT and 1 regular ABOVE (a disadvantaged boy).
    Hand-computed: persistent (severe included) 4 pupils, 3 at or above (75%); severe 2, 1 (50%);
    not persistent 5, 4 (80%); unrecorded 1, 1 (100%); All Pupils 10, 8 (80%)."""
    await gateway.seed.school("S1", "Oak")
    await gateway.seed.school("S2", "Ash")
    await seed_attainment(gateway, "S1", GIRL_Y3, {"persistent.AT": 2, "severe.BELOW": 1, "regular.AT": 3,
                                                   "regular.BELOW": 1, "unrecorded.ABOVE": 1})
    await seed_attainment(gateway, "S2", BOY_Y4_DISADVANTAGED, {"severe.AT": 1, "regular.ABOVE": 1})
    await seed_attainment(gateway, "S1", GIRL_Y3, {"persistent.BELOW": 7}, measure="maths")  # another measure
    return gateway


async def test_attainment_of_persistent_and_severe_absentees_and_the_rest_equals_the_hand_computed(
    attainment: Gateway,
) -> None:
    answer = await attainment.get("/v1/reports/attendance-attainment", academic_year=YEAR, period="AUT1",
                                  measure="reading")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["measure"], report["label"], report["period"]) == ("reading", "Reading", "AUT1")
    rows = {row["group"]: (row["n"], row["at_or_above"], row["pct"], row["small_group"]) for row in report["rows"]}
    assert rows == {"persistent": (4, 3, 75.0, True), "severe": (2, 1, 50.0, True),
                    "not_persistent": (5, 4, 80.0, False), "unrecorded": (1, 1, 100.0, True)}
    everyone = report["all_pupils"]
    assert (everyone["group"], everyone["n"], everyone["at_or_above"], everyone["pct"]) == ("all", 10, 8, 80.0)


async def test_attendance_attainment_takes_the_filters_and_the_callers_schools(attainment: Gateway) -> None:
    boys = (await attainment.get("/v1/reports/attendance-attainment", academic_year=YEAR, period="AUT1",
                                 measure="reading", sex="M")).json()
    assert {row["group"]: row["n"] for row in boys["rows"]} == {"persistent": 1, "severe": 1, "not_persistent": 1,
                                                                 "unrecorded": 0}
    oak = (await attainment.get("/v1/reports/attendance-attainment", token="s1-viewer", academic_year=YEAR,
                                period="AUT1", measure="reading")).json()
    assert oak["all_pupils"]["n"] == 8 and oak["rows"][0]["n"] == 3
    maths = (await attainment.get("/v1/reports/attendance-attainment", academic_year=YEAR, period="AUT1",
                                  measure="maths")).json()
    assert (maths["rows"][0]["n"], maths["rows"][0]["pct"]) == (7, 0.0)
    none = (await attainment.get("/v1/reports/attendance-attainment", academic_year=YEAR, period="SPR1",
                                 measure="reading")).json()
    assert none["all_pupils"]["n"] == 0 and none["all_pupils"]["pct"] is None
    refused = await attainment.get("/v1/reports/attendance-attainment", academic_year=YEAR, period="AUT1",
                                   measure="spelling")
    assert (refused.status_code, refused.json()["detail"][0]["loc"]) == (422, ["query", "measure"])


async def test_attendance_attainment_exports_as_csv(attainment: Gateway) -> None:
    exported = await attainment.get("/v1/reports/attendance-attainment", academic_year=YEAR, period="AUT1",
                                    measure="reading", format="csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "persistent" in exported.text and "Persistent absentees (missed 10% or more)" in exported.text


async def test_the_attendance_report_lists_the_persistent_absentees_lowest_attendance_first(trust: Gateway) -> None:
    keys = attendance_keyspace(trust.settings.redis_prefix, trust.seed.keys.trust_id)
    for school, entry in (("S1", f"P1|{encode_field(GIRL_Y3, '38:380')}"),
                          ("S2", f"P2|{encode_field(BOY_Y4_DISADVANTAGED, '190:380')}"),
                          ("S2", f"P3|{encode_field(RECEPTION, '20:100')}")):
        await trust.seed.redis.hset(keys.attendance_absentees(YEAR, "YTD", school), entry, 1)
    answer = await trust.get("/v1/reports/attendance", academic_year=YEAR, pupils="true")
    assert answer.status_code == 200, answer.text
    listed = [(p["pupil_id"], p["school"], p["absent_sessions"], p["possible_sessions"], p["attendance_pct"], p["severe"])
              for p in answer.json()["pupils"]]
    assert listed == [("P2", "Ash", 190, 380, 50.0, True), ("P1", "Oak", 38, 380, 90.0, False)]  # Reception: not asked
    with_reception = (await trust.get("/v1/reports/attendance", academic_year=YEAR, pupils="true",
                                      include_reception="true")).json()
    assert [p["pupil_id"] for p in with_reception["pupils"]] == ["P2", "P3", "P1"]
    assert (await trust.get("/v1/reports/attendance", academic_year=YEAR)).json()["pupils"] is None
    refused = await trust.get("/v1/reports/attendance", token="figures-viewer", academic_year=YEAR, pupils="true")
    assert refused.status_code == 403


# -- a Trust's own dates ----------------------------------------------------------------------------

OWN_DATES = {
    "academic_year": YEAR, "version": 1, "closures": [],
    "half_terms": {
        "AUT1": {"first_day": "2025-09-03", "last_day": "2025-10-17"},  # the default ends on 24 October
        "AUT2": {"first_day": "2025-10-27", "last_day": "2025-12-19"},
        "SPR1": {"first_day": "2026-01-05", "last_day": "2026-02-13"},
        "SPR2": {"first_day": "2026-02-23", "last_day": "2026-03-27"},
        "SUM1": {"first_day": "2026-04-13", "last_day": "2026-05-22"},
        "SUM2": {"first_day": "2026-06-01", "last_day": "2026-07-22"},
    },
}


async def test_a_trust_with_its_own_aut1_end_gets_its_windows_by_its_dates(gateway: Gateway) -> None:
    """The week of 20 October is AUT1 by default and AUT2 by the Trust's dates, which the attendance
    projection's generation holds (`Keyspace.dates`): the dashboard's period, its figures and the
    calendar's dates follow the Trust's."""
    keys = attendance_keyspace(gateway.settings.redis_prefix, gateway.seed.keys.trust_id)
    await gateway.seed.school("S1", "Oak")
    await seed_window(gateway, YEAR, "2025-10-20", "S1", GIRL_Y3, {"/\\": 9, "I": 1}, pupils=1, persistent=1)
    await seed_window(gateway, YEAR, "AUT1", "S1", GIRL_Y3, {"/\\": 60}, pupils=1)
    await seed_window(gateway, YEAR, "AUT2", "S1", GIRL_Y3, {"/\\": 9, "I": 1}, pupils=1, persistent=1)
    await gateway.seed.redis.hset(keys.dates, YEAR, json.dumps(OWN_DATES))

    after = (await gateway.get("/v1/dashboards/attendance", academic_year=YEAR, week="2025-10-20")).json()
    dates = (await gateway.get("/v1/calendar/dates", academic_year=YEAR)).json()
    other_year = (await gateway.get("/v1/calendar/dates", academic_year="2024/25")).json()

    assert PeriodCalendar().period_of(date(2025, 10, 20)).period == "AUT1"  # by the English default
    assert (after["period"], after["this_period"]["figures"]["possible_sessions"]) == ("AUT2", 10)
    assert after["this_period"]["figures"]["attendance_pct"] == pytest.approx(90.0)
    aut1, aut2 = dates["periods"][0], dates["periods"][1]
    assert dates["source"] == "trust" and other_year["source"] == "english_default"
    assert (aut1["last_school_day"], aut2["first_school_day"], aut2["covers_from"]) == (
        "2025-10-17", "2025-10-27", "2025-10-18")
    assert "2025-10-27" in dates["weeks"] and "2025-10-20" not in dates["weeks"]  # its half-term moved a week
