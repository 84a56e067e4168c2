"""GET /v1/reports/attainment against a real Redis."""

from __future__ import annotations

import pytest
from tidemark_gateway.testing import Gateway, Seeder, cell

from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.vocabulary import SenProvision, Sex, YearGroup

YEAR, PERIOD = "2025/26", "AUT1"


def report_params(measure: str = "reading", by: str = "school", **filters: object) -> dict[str, object]:
    return {"measure": measure, "by": by, "academic_year": YEAR, "period": PERIOD, **filters}


async def two_schools(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.school("S2", "Ash Academy")


async def test_all_pupils_is_pooled_over_pupils_not_a_mean_of_school_percentages(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", at=6, above=4)
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S2", below=90)
    await gateway.seed.updated("2025-10-20T09:30:00+00:00")

    response = await gateway.get("/v1/reports/attainment", **report_params())

    assert response.status_code == 200
    assert response.json() == {
        "academic_year": YEAR,
        "period": PERIOD,
        "measure": "reading",
        "by": "school",
        "last_updated": "2025-10-20T09:30:00+00:00",
        "rows": [  # sorted by school name, not id
            {"group": "S2", "label": "Ash Academy", "n": 90, "at_or_above": 0, "pct": 0.0, "small_group": False},
            {"group": "S1", "label": "Oak Primary", "n": 10, "at_or_above": 10, "pct": 100.0, "small_group": False},
        ],
        "all_pupils": {"group": "all", "label": "All Pupils", "n": 100, "at_or_above": 10, "pct": 10.0, "small_group": False},
    }


async def test_a_school_without_results_keeps_its_row_with_null_pct_not_zero(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", at=2, below=1)

    body = (await gateway.get("/v1/reports/attainment", **report_params())).json()

    assert body["rows"][0] == {"group": "S2", "label": "Ash Academy", "n": 0, "at_or_above": 0, "pct": None, "small_group": False}
    assert body["rows"][1]["pct"] == pytest.approx(200 / 3)
    assert body["all_pupils"]["pct"] == pytest.approx(200 / 3)


async def test_a_period_without_any_data_has_null_everywhere(gateway: Gateway) -> None:
    await two_schools(gateway)

    body = (await gateway.get("/v1/reports/attainment", **report_params())).json()

    assert [row["pct"] for row in body["rows"]] == [None, None]
    assert body["all_pupils"] == {"group": "all", "label": "All Pupils", "n": 0, "at_or_above": 0, "pct": None, "small_group": False}
    assert body["last_updated"] is None


async def test_filters_combine_disadvantaged_girls_counts_only_them(gateway: Gateway) -> None:
    await two_schools(gateway)
    seed = gateway.seed
    await seed.counts(YEAR, PERIOD, "maths", "S1", cell(disadvantaged=True), at=2, below=1)
    await seed.counts(YEAR, PERIOD, "maths", "S2", cell(disadvantaged=True), above=1)
    await seed.counts(YEAR, PERIOD, "maths", "S1", cell(disadvantaged=False), at=5)
    await seed.counts(YEAR, PERIOD, "maths", "S1", cell(sex=Sex.M, disadvantaged=True), below=4)

    body = (await gateway.get(
        "/v1/reports/attainment", **report_params("maths", sex="F", disadvantaged="true")
    )).json()

    assert {row["group"]: (row["n"], row["at_or_above"]) for row in body["rows"]} == {"S1": (3, 2), "S2": (1, 1)}
    assert body["all_pupils"]["n"] == 4
    assert body["all_pupils"]["pct"] == pytest.approx(75.0)


async def test_by_sex_gives_female_then_male_rows(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, PERIOD, "writing", "S1", cell(sex=Sex.M), at=1, below=3)
    await gateway.seed.counts(YEAR, PERIOD, "writing", "S2", cell(sex=Sex.F), at=3, below=1)
    await gateway.seed.counts(YEAR, PERIOD, "writing", "S1", cell(sex=Sex.F), above=1)

    body = (await gateway.get("/v1/reports/attainment", **report_params("writing", "sex"))).json()

    assert body["rows"] == [
        {"group": "F", "label": "Female", "n": 5, "at_or_above": 4, "pct": 80.0, "small_group": False},
        {"group": "M", "label": "Male", "n": 4, "at_or_above": 1, "pct": 25.0, "small_group": True},
    ]
    assert body["all_pupils"]["pct"] == pytest.approx(500 / 9)


async def test_groups_come_in_their_natural_order_with_readable_labels(gateway: Gateway) -> None:
    await two_schools(gateway)
    for sen in (SenProvision.E, SenProvision.K, SenProvision.N):
        await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", cell(sen=sen), at=1)
    for year_group in (YearGroup.Y6, YearGroup.Y1, YearGroup.Y4):
        await gateway.seed.counts(YEAR, PERIOD, "rwm", "S1", cell(year_group=year_group), at=1)

    by_sen = (await gateway.get("/v1/reports/attainment", **report_params("reading", "sen"))).json()
    by_year = (await gateway.get("/v1/reports/attainment", **report_params("rwm", "year_group"))).json()

    assert [row["label"] for row in by_sen["rows"]] == ["No SEN", "SEN support", "EHC plan"]
    assert [(row["group"], row["label"]) for row in by_year["rows"]] == [
        ("Y1", "Year 1"), ("Y4", "Year 4"), ("Y6", "Year 6")
    ]


async def test_repeatable_filters_select_any_of_their_values(gateway: Gateway) -> None:
    await two_schools(gateway)
    seed = gateway.seed
    await seed.counts(YEAR, PERIOD, "reading", "S1", cell(ethnic_group=EthnicGroup.ASIAN, year_group=YearGroup.Y2), at=2)
    await seed.counts(YEAR, PERIOD, "reading", "S1", cell(ethnic_group=EthnicGroup.OTHER, year_group=YearGroup.Y5), below=2)
    await seed.counts(YEAR, PERIOD, "reading", "S1", cell(ethnic_group=EthnicGroup.OTHER, year_group=YearGroup.Y3), at=7)
    await seed.counts(YEAR, PERIOD, "reading", "S2", cell(ethnic_group=EthnicGroup.WHITE, year_group=YearGroup.Y2), at=9)

    body = (await gateway.get("/v1/reports/attainment", **report_params(
        "reading", "ethnicity", ethnicity=["ASIAN", "OTHER"], year_group=["Y2", "Y5"]
    ))).json()

    assert body["rows"] == [
        {"group": "ASIAN", "label": "Asian", "n": 2, "at_or_above": 2, "pct": 100.0, "small_group": True},
        {"group": "OTHER", "label": "Any other ethnic group", "n": 2, "at_or_above": 0, "pct": 0.0, "small_group": True},
    ]


async def test_a_school_filter_reports_that_school_alone(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", at=1, below=1)
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S2", at=8)

    body = (await gateway.get("/v1/reports/attainment", **report_params(school="S1"))).json()

    assert [row["group"] for row in body["rows"]] == ["S1"]
    assert body["all_pupils"] == {"group": "all", "label": "All Pupils", "n": 2, "at_or_above": 1, "pct": 50.0, "small_group": True}


async def test_combined_rwm_is_read_from_its_own_counters(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", at=5)
    await gateway.seed.counts(YEAR, PERIOD, "rwm", "S1", at=3, below=2)

    body = (await gateway.get("/v1/reports/attainment", **report_params("rwm"))).json()

    assert body["measure"] == "rwm"
    assert body["all_pupils"] == {"group": "all", "label": "All Pupils", "n": 5, "at_or_above": 3, "pct": 60.0, "small_group": False}


async def test_gld_rwm_pools_reception_gld_with_years_1_to_6_rwm(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, PERIOD, "gld", "S1", cell(year_group=YearGroup.R), at=4, below=1)
    await gateway.seed.counts(YEAR, PERIOD, "rwm", "S1", cell(year_group=YearGroup.Y2), at=1, below=4)

    body = (await gateway.get("/v1/reports/attainment", **report_params("gld_rwm", "year_group"))).json()

    assert [(row["label"], row["n"], row["at_or_above"]) for row in body["rows"]] == [
        ("Reception", 5, 4), ("Year 2", 5, 1)
    ]
    assert body["all_pupils"]["pct"] == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("measure", "geology"), ("by", "house"), ("period", "AUT3"), ("academic_year", "2025/27"),
     ("academic_year", "2025-26"), ("ethnicity", "White"), ("sen", "X"), ("year_group", "Y7")],
)
async def test_an_unknown_parameter_value_is_a_422_naming_the_parameter(
    gateway: Gateway, parameter: str, value: str
) -> None:
    response = await gateway.get("/v1/reports/attainment", **{**report_params(), parameter: value})

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]][0][:2] == ["query", parameter]


async def test_an_unknown_school_in_the_filter_is_a_422_naming_school(gateway: Gateway) -> None:
    await two_schools(gateway)

    response = await gateway.get("/v1/reports/attainment", **report_params(school=["S1", "S9"]))

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "school"]
    assert "S9" in response.json()["detail"][0]["msg"]


async def test_schools_lists_names_sorted(gateway: Gateway) -> None:
    await two_schools(gateway)

    response = await gateway.get("/v1/schools")

    assert response.json() == [{"school_id": "S2", "name": "Ash Academy"}, {"school_id": "S1", "name": "Oak Primary"}]


async def test_readers_follow_the_generation_a_rebuild_switched_to(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", below=2)
    rebuilt = Seeder(gateway.seed.redis, gateway.seed.keys.at("r2"))
    await rebuilt.school("S1", "Oak Primary")
    await rebuilt.counts(YEAR, PERIOD, "reading", "S1", at=3)

    before = (await gateway.get("/v1/reports/attainment", **report_params())).json()
    await gateway.seed.redis.set(gateway.seed.keys.generation_key, "r2")
    after = (await gateway.get("/v1/reports/attainment", **report_params())).json()

    assert (before["all_pupils"]["n"], before["all_pupils"]["at_or_above"]) == (2, 0)
    assert (after["all_pupils"]["n"], after["all_pupils"]["at_or_above"]) == (3, 3)
    assert [row["group"] for row in after["rows"]] == ["S1"]  # the rebuilt generation's schools
