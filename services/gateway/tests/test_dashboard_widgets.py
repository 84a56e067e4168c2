"""GET /v1/dashboards/summative: EYFS tiles, the two Diminishing the Difference widgets and Progress
Over Time, from hand-made counters in a real Redis."""

from __future__ import annotations

import pytest

from tidemark_gateway.testing import Gateway, cell
from tidemark_schemas.vocabulary import Sex, YearGroup

YEAR = "2025/26"
BOY = cell(sex=Sex.M)
RECEPTION_GIRL = cell(year_group=YearGroup.R)
DISADVANTAGED = cell(disadvantaged=True)


async def dashboard(gateway: Gateway, period: str = "AUT2", **filters: object) -> dict:
    response = await gateway.get("/v1/dashboards/summative", academic_year=YEAR, period=period, **filters)
    assert response.status_code == 200, response.text
    return response.json()


async def test_eyfs_tiles_show_gld_and_all_goals_with_change(gateway: Gateway) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.counts(YEAR, "AUT1", "gld", "S1", RECEPTION_GIRL, at=1, below=1)
    await seed.counts(YEAR, "AUT2", "gld", "S1", RECEPTION_GIRL, at=4, above=2, below=4)
    await seed.counts(YEAR, "AUT1", "all_goals", "S1", RECEPTION_GIRL, at=1)

    body = await dashboard(gateway)

    assert body["eyfs_subjects"] == [
        {"measure": "gld", "label": "Combined (GLD)", "n": 10, "at_or_above": 6, "pct": 60.0, "previous_pct": 50.0,
         "change": 10.0, "display": "+10.0", "direction": "up", "small_group": False},
        {"measure": "all_goals", "label": "Combined (All Goals)", "n": 0, "at_or_above": 0, "pct": None,
         "previous_pct": 100.0, "change": None, "display": "no data", "direction": "none", "small_group": False},
    ]


async def test_gender_gap_is_female_minus_male_on_gld_rwm_and_widens_when_its_size_grows_across_a_sign_flip(
    gateway: Gateway,
) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    # AUT1: girls 1/2 = 50%, boys 3/4 = 75%: gap -25
    await seed.counts(YEAR, "AUT1", "rwm", "S1", at=1, below=1)
    await seed.counts(YEAR, "AUT1", "rwm", "S1", BOY, at=3, below=1)
    # AUT2: girls 3/4 RWM + 1/1 Reception GLD = 4/5 = 80%, boys 1/2 = 50%: gap +30
    await seed.counts(YEAR, "AUT2", "rwm", "S1", at=3, below=1)
    await seed.counts(YEAR, "AUT2", "gld", "S1", RECEPTION_GIRL, at=1)
    await seed.counts(YEAR, "AUT2", "rwm", "S1", BOY, at=1, below=1)

    gender = (await dashboard(gateway))["gender_gap"]

    assert gender["measure"] == "gld_rwm"
    assert (gender["female"]["label"], gender["female"]["n"], gender["female"]["pct"]) == ("Female", 5, 80.0)
    assert (gender["female"]["previous_pct"], gender["female"]["display"]) == (50.0, "+30.0")
    assert (gender["male"]["label"], gender["male"]["pct"], gender["male"]["previous_pct"]) == ("Male", 50.0, 75.0)
    assert gender["gap"] == {"gap": 30.0, "previous_gap": -25.0, "change": 55.0, "display": "+55.0",
                             "direction": "up", "widening": True}


async def test_disadvantaged_gap_is_not_minus_disadvantaged_on_rwm_only_and_narrows(gateway: Gateway) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.counts(YEAR, "AUT1", "rwm", "S1", at=8, below=2)  # 80%
    await seed.counts(YEAR, "AUT1", "rwm", "S1", DISADVANTAGED, at=1, below=3)  # 25%: gap 55
    await seed.counts(YEAR, "AUT2", "rwm", "S1", at=7, below=3)  # 70%
    await seed.counts(YEAR, "AUT2", "rwm", "S1", DISADVANTAGED, at=5, below=5)  # 50%: gap 20
    await seed.counts(YEAR, "AUT2", "gld", "S1", cell(year_group=YearGroup.R, disadvantaged=True), below=10)

    gap = (await dashboard(gateway))["disadvantaged_gap"]

    assert gap["measure"] == "rwm"
    assert (gap["not_disadvantaged"]["label"], gap["not_disadvantaged"]["pct"]) == ("Not disadvantaged", 70.0)
    assert (gap["disadvantaged"]["label"], gap["disadvantaged"]["n"], gap["disadvantaged"]["pct"]) == (
        "Disadvantaged", 10, 50.0)
    assert gap["gap"] == {"gap": 20.0, "previous_gap": 55.0, "change": -35.0, "display": "-35.0",
                          "direction": "down", "widening": False}
    # For reference, as the DfE compares: non-disadvantaged pupils nationally, the latest published (KS2 RWM 2024).
    assert gap["national_not_disadvantaged"] == {
        "value": 67.0, "academic_year": "2023/24", "source": "DfE, Key stage 2 attainment (England, all schools)",
        "note": ""}


async def test_a_gap_without_one_group_is_null_and_neither_widening_nor_narrowing(gateway: Gateway) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.counts(YEAR, "AUT1", "rwm", "S1", at=1)
    await seed.counts(YEAR, "AUT2", "rwm", "S1", at=1)
    await seed.counts(YEAR, "AUT2", "rwm", "S1", BOY, below=1)

    gender = (await dashboard(gateway))["gender_gap"]["gap"]

    assert gender == {"gap": 100.0, "previous_gap": None, "change": None, "display": "–", "direction": "none",
                      "widening": None}


async def test_filters_apply_to_the_gap_widgets(gateway: Gateway) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.counts(YEAR, "AUT2", "rwm", "S1", at=1, below=1)
    await seed.counts(YEAR, "AUT2", "rwm", "S1", cell(eal=True), at=2)
    await seed.counts(YEAR, "AUT2", "rwm", "S1", cell(sex=Sex.M, eal=True), below=2)

    body = await dashboard(gateway, eal=True)

    assert (body["gender_gap"]["female"]["n"], body["gender_gap"]["male"]["n"]) == (2, 2)
    assert body["gender_gap"]["gap"]["gap"] == 100.0
    assert body["disadvantaged_gap"]["not_disadvantaged"]["pct"] == 50.0


async def test_progress_over_time_covers_the_year_and_the_two_before_with_empty_periods_null(
    gateway: Gateway,
) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.counts("2023/24", "SUM2", "rwm", "S1", at=1, below=1)
    await seed.counts("2024/25", "AUT1", "gld", "S1", RECEPTION_GIRL, at=3)
    await seed.counts("2024/25", "AUT1", "rwm", "S1", below=1)
    await seed.counts(YEAR, "SPR1", "rwm", "S1", at=2)
    await seed.counts(YEAR, "SPR2", "rwm", "S1", below=5)  # after the selected period, still in its year
    await seed.counts("2022/23", "SUM2", "rwm", "S1", at=9)  # before the window

    points = (await dashboard(gateway, period="SPR1"))["progress_over_time"]

    assert len(points) == 18
    assert points[0] == {"academic_year": "2023/24", "period": "AUT1", "n": 0, "at_or_above": 0, "pct": None, "small_group": False}
    assert [(p["academic_year"], p["period"], p["n"], p["at_or_above"], p["pct"]) for p in points if p["n"]] == [
        ("2023/24", "SUM2", 2, 1, 50.0),
        ("2024/25", "AUT1", 4, 3, 75.0),
        ("2025/26", "SPR1", 2, 2, 100.0),
        ("2025/26", "SPR2", 5, 0, 0.0),
    ]
    assert points[-1]["period"] == "SUM2"


async def test_a_school_scoped_viewer_gets_dashboard_widgets_over_its_school_only(gateway: Gateway) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.school("S2", "Ash Academy")
    await seed.counts(YEAR, "AUT2", "rwm", "S1", at=1)
    await seed.counts(YEAR, "AUT2", "rwm", "S2", below=3)
    await seed.counts(YEAR, "AUT2", "gld", "S2", RECEPTION_GIRL, below=3)

    response = await gateway.get("/v1/dashboards/summative", token="s1-viewer", academic_year=YEAR, period="AUT2")

    body = response.json()
    assert body["gender_gap"]["female"]["n"] == 1
    assert body["eyfs_subjects"][0]["n"] == 0
    assert sum(point["n"] for point in body["progress_over_time"]) == 1
    assert body["disadvantaged_gap"]["not_disadvantaged"]["pct"] == pytest.approx(100.0)
