"""GET /v1/reports/attainment-overview, /progress-over-time and /gaps against a real Redis."""

from __future__ import annotations

import pytest

from tidemark_gateway.testing import Gateway, cell
from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.vocabulary import Sex, YearGroup

YEAR = "2025/26"
BOY = cell(sex=Sex.M)


async def two_schools(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.school("S2", "Ash Academy")


async def get_ok(gateway: Gateway, path: str, **params: object) -> dict:
    response = await gateway.get(path, **params)
    assert response.status_code == 200, response.text
    return response.json()


async def overview(gateway: Gateway, **params: object) -> dict:
    query = {"measure": "reading", "by": "school", "academic_year": YEAR, "period": "AUT1", **params}
    return await get_ok(gateway, "/v1/reports/attainment-overview", **query)


async def test_attainment_overview_counts_each_band_and_its_share_of_assessed_pupils(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.school("S3", "Elm School")
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S1", below=1, at=2, above=1)
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S2", above=2)

    body = await overview(gateway)

    assert (body["view"], body["school_view_available"], body["model"]) == ("simple", False, None)
    assert body["all_pupils"] == {
        "group": "all", "label": "All Pupils", "below": 1, "at": 2, "above": 3, "n": 6,
        "pct_below": pytest.approx(100 / 6), "pct_at": pytest.approx(200 / 6), "pct_above": 50.0, "codes": None, "small_group": False}
    assert [(r["label"], r["below"], r["at"], r["above"], r["pct_below"], r["pct_at"], r["pct_above"])
            for r in body["rows"]] == [
        ("Ash Academy", 0, 0, 2, 0.0, 0.0, 100.0),
        ("Elm School", 0, 0, 0, None, None, None),
        ("Oak Primary", 1, 2, 1, 25.0, 50.0, 25.0),
    ]
    for row in [body["all_pupils"], *body["rows"]]:
        if row["n"]:
            assert row["pct_below"] + row["pct_at"] + row["pct_above"] == pytest.approx(100.0)


async def test_attainment_overview_applies_filters_and_groupings(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S1", below=3)
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S1", BOY, at=1, below=1)
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S2", cell(sex=Sex.M, year_group=YearGroup.Y5), above=2)

    body = await overview(gateway, by="year_group", sex="M")

    assert [(r["label"], r["below"], r["at"], r["above"]) for r in body["rows"]] == [
        ("Year 3", 1, 1, 0), ("Year 5", 0, 0, 2)]
    assert (body["all_pupils"]["n"], body["all_pupils"]["pct_above"]) == (4, 50.0)


async def test_the_school_view_counts_each_code_of_the_shared_model_beside_the_bands(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary", SONAR_MODEL)
    await gateway.seed.school("S2", "Ash Academy", SONAR_MODEL)
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S1", below=1, at=3)
    await gateway.seed.codes(YEAR, "AUT1", "reading", "S1", B=1, JA=1, SA=2)
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S2", BOY, above=1)
    await gateway.seed.codes(YEAR, "AUT1", "reading", "S2", BOY, SAB=1)

    body = await overview(gateway, view="school", by="sex")

    assert (body["view"], body["school_view_available"], body["model"]["name"]) == ("school", True, "sonar")
    assert [code["code"] for code in body["model"]["codes"]] == ["SB", "B", "JA", "SA", "A", "SAB"]
    pooled = {c["code"]: (c["pupils"], c["pct"]) for c in body["all_pupils"]["codes"]}
    assert pooled == {"SB": (0, 0.0), "B": (1, 20.0), "JA": (1, 20.0), "SA": (2, 40.0), "A": (0, 0.0), "SAB": (1, 20.0)}
    female, male = body["rows"]
    assert (female["label"], [c["pupils"] for c in female["codes"]]) == ("Female", [0, 1, 1, 2, 0, 0])
    assert (male["label"], male["above"], [c["pupils"] for c in male["codes"]]) == ("Male", 1, [0, 0, 0, 0, 0, 1])


@pytest.mark.parametrize(
    ("measure", "models", "reason"),
    [
        ("reading", ("sonar", None), "the School view needs every school in scope to use the same assessment model"),
        ("rwm", ("sonar", "sonar"), "the School view shows single subjects and goals; combined measures have bands only"),
    ],
)
async def test_the_school_view_is_refused_where_it_is_not_offered(gateway: Gateway, measure, models, reason) -> None:
    for school_id, model in zip(("S1", "S2"), models, strict=True):
        await gateway.seed.school(school_id, school_id, SONAR_MODEL if model else None)

    simple = await overview(gateway, measure=measure)
    refused = await gateway.get("/v1/reports/attainment-overview", measure=measure, by="school",
                                academic_year=YEAR, period="AUT1", view="school")

    assert simple["school_view_available"] is False
    assert refused.status_code == 422
    assert [(d["loc"], d["msg"]) for d in refused.json()["detail"]] == [(["query", "view"], reason)]
    assert (await overview(gateway, measure=measure, school="S1"))["school_view_available"] is (measure == "reading")


async def test_progress_over_time_gives_a_series_per_school_over_three_years_with_all_pupils(
    gateway: Gateway,
) -> None:
    await two_schools(gateway)
    await gateway.seed.counts("2024/25", "SUM2", "rwm", "S1", at=1, below=1)
    await gateway.seed.counts(YEAR, "AUT1", "gld", "S2", cell(year_group=YearGroup.R), at=2)
    await gateway.seed.counts(YEAR, "AUT1", "rwm", "S1", below=2)

    body = await get_ok(gateway, "/v1/reports/progress-over-time", academic_year=YEAR)

    assert (body["measure"], body["by"], len(body["periods"])) == ("gld_rwm", "school", 18)
    assert body["periods"][0] == {"academic_year": "2023/24", "period": "AUT1"}

    def filled(row: dict) -> list[tuple[str, str, float | None]]:
        assert len(row["series"]) == 18
        return [(p["academic_year"], p["period"], p["pct"]) for p in row["series"] if p["n"]]

    assert filled(body["all_pupils"]) == [("2024/25", "SUM2", 50.0), (YEAR, "AUT1", 50.0)]
    assert [(row["label"], filled(row)) for row in body["rows"]] == [
        ("Ash Academy", [(YEAR, "AUT1", 100.0)]),
        ("Oak Primary", [("2024/25", "SUM2", 50.0), (YEAR, "AUT1", 0.0)]),
    ]
    assert body["all_pupils"]["series"][0]["pct"] is None


async def test_progress_over_time_by_subject_has_reading_writing_maths_rwm_rows(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts("2023/24", "AUT1", "reading", "S1", at=3, below=1)
    await gateway.seed.counts("2023/24", "AUT1", "rwm", "S1", at=1, below=1)
    await gateway.seed.counts("2023/24", "AUT1", "maths", "S2", BOY, at=1)  # filtered out below

    body = await get_ok(gateway, "/v1/reports/progress-over-time", academic_year=YEAR, by="subject", sex="F",
                        measure="rwm")

    first = [(row["group"], row["label"], row["series"][0]["pct"]) for row in body["rows"]]
    assert first == [("reading", "Reading", 75.0), ("writing", "Writing", None), ("maths", "Mathematics", None),
                     ("rwm", "Combined (RWM)", 50.0)]
    assert body["all_pupils"]["series"][0]["pct"] == 50.0


async def test_progress_over_time_by_a_grouping_lists_groups_with_data_in_any_period(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts("2023/24", "SPR1", "reading", "S1", BOY, at=1)
    await gateway.seed.counts(YEAR, "SUM1", "reading", "S2", below=1)

    body = await get_ok(gateway, "/v1/reports/progress-over-time", academic_year=YEAR, by="sex", measure="reading")

    assert [row["label"] for row in body["rows"]] == ["Female", "Male"]
    assert [p["pct"] for p in body["rows"][1]["series"] if p["n"]] == [100.0]


async def test_gap_report_gives_both_groups_the_gap_and_widening_per_period_of_the_window(
    gateway: Gateway,
) -> None:
    seed = gateway.seed
    await two_schools(gateway)
    await seed.counts("2022/23", "SUM2", "rwm", "S1", at=1, below=1)  # just before the window: gap -50
    await seed.counts("2022/23", "SUM2", "rwm", "S1", BOY, at=1)
    await seed.counts("2023/24", "AUT1", "rwm", "S1", at=3, below=1)  # 75 - 50 = +25: narrower
    await seed.counts("2023/24", "AUT1", "rwm", "S2", BOY, at=1, below=1)
    # AUT2 2023/24: no data
    await seed.counts("2023/24", "SPR1", "rwm", "S1", at=1)  # 100 - 0 = +100, nothing the period before
    await seed.counts("2023/24", "SPR1", "rwm", "S1", BOY, below=1)

    body = await get_ok(gateway, "/v1/reports/gaps", gap="sex", academic_year=YEAR)

    assert (body["gap"], body["subject"], body["first"], body["second"]) == (
        "sex", "rwm", {"group": "F", "label": "Female"}, {"group": "M", "label": "Male"})
    series = body["series"]
    assert len(series) == 18
    assert series[0] == {
        "academic_year": "2023/24", "period": "AUT1",
        "first": {"n": 4, "at_or_above": 3, "pct": 75.0, "small_group": True}, "second": {"n": 2, "at_or_above": 1, "pct": 50.0, "small_group": True},
        "gap": 25.0, "previous_gap": -50.0, "change": 75.0, "display": "+75.0", "direction": "up",
        "widening": False,
    }
    assert (series[1]["first"]["pct"], series[1]["gap"], series[1]["widening"], series[1]["display"]) == (
        None, None, None, "no data")
    assert (series[2]["gap"], series[2]["previous_gap"], series[2]["widening"], series[2]["display"]) == (
        100.0, None, None, "–")


async def test_disadvantaged_gap_report_on_a_subject_with_a_school_filter(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S1", at=3, below=1)
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S1", cell(disadvantaged=True), at=1, below=1)
    await gateway.seed.counts(YEAR, "AUT1", "reading", "S2", cell(disadvantaged=True), below=8)

    body = await get_ok(gateway, "/v1/reports/gaps", gap="disadvantaged", subject="reading", academic_year=YEAR,
                        school="S1")

    point = next(p for p in body["series"] if p["academic_year"] == YEAR and p["period"] == "AUT1")
    assert (body["first"]["label"], body["second"]["label"]) == ("Not disadvantaged", "Disadvantaged")
    assert (point["first"]["pct"], point["second"]["pct"], point["gap"]) == (75.0, 50.0, 25.0)
