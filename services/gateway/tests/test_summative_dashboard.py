"""GET /v1/dashboards/summative: the Primary Subjects Overview tiles with change since the previous period."""

from __future__ import annotations

from datetime import date

import pytest

from tidemark_gateway.domain.periods import academic_years_shown, current_period
from tidemark_gateway.testing import Gateway, cell
from tidemark_schemas.calendar import PeriodCalendar, academic_year_of
from tidemark_schemas.vocabulary import Sex


async def dashboard(gateway: Gateway, year: str, period: str, **filters: object) -> dict:
    response = await gateway.get("/v1/dashboards/summative", academic_year=year, period=period, **filters)
    assert response.status_code == 200, response.text
    return response.json()


async def test_tiles_show_reading_writing_maths_rwm_with_change_since_the_previous_period(gateway: Gateway) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.school("S2", "Ash Academy")
    # AUT1 (previous): reading 1/2, writing 1/2, maths 1/2; no RWM
    for measure in ("reading", "writing", "maths"):
        await seed.counts("2025/26", "AUT1", measure, "S1", at=1, below=1)
    # AUT2: reading 3/4 (+25.0), writing 1/3 (-16.7), maths 2/4 (0.0); still no RWM
    await seed.counts("2025/26", "AUT2", "reading", "S1", at=2, below=1)
    await seed.counts("2025/26", "AUT2", "reading", "S2", above=1)
    await seed.counts("2025/26", "AUT2", "writing", "S1", at=1, below=2)
    await seed.counts("2025/26", "AUT2", "maths", "S2", at=2, below=2)
    await seed.updated("2025-12-01T08:00:00+00:00")

    body = await dashboard(gateway, "2025/26", "AUT2")

    primary = ("academic_year", "period", "previous_period", "last_updated", "primary_subjects")
    assert {key: body[key] for key in primary} == {
        "academic_year": "2025/26",
        "period": "AUT2",
        "previous_period": {"academic_year": "2025/26", "period": "AUT1"},
        "last_updated": "2025-12-01T08:00:00+00:00",
        "primary_subjects": [
            {"measure": "reading", "label": "Reading", "n": 4, "at_or_above": 3, "pct": 75.0,
             "previous_pct": 50.0, "change": 25.0, "display": "+25.0", "direction": "up", "small_group": True},
            {"measure": "writing", "label": "Writing", "n": 3, "at_or_above": 1, "pct": pytest.approx(100 / 3),
             "previous_pct": 50.0, "change": -16.7, "display": "-16.7", "direction": "down", "small_group": True},
            {"measure": "maths", "label": "Mathematics", "n": 4, "at_or_above": 2, "pct": 50.0,
             "previous_pct": 50.0, "change": 0.0, "display": "~ 0", "direction": "none", "small_group": True},
            {"measure": "rwm", "label": "Combined (RWM)", "n": 0, "at_or_above": 0, "pct": None,
             "previous_pct": None, "change": None, "display": "no data", "direction": "none", "small_group": False},
        ],
    }


async def test_the_first_period_of_a_year_compares_with_the_last_period_of_the_year_before(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.counts("2024/25", "SUM2", "rwm", "S1", at=6, below=4)
    await gateway.seed.counts("2024/25", "SUM1", "rwm", "S1", below=10)  # not the previous period
    await gateway.seed.counts("2025/26", "AUT1", "rwm", "S1", at=5, below=5)

    body = await dashboard(gateway, "2025/26", "AUT1")

    assert body["previous_period"] == {"academic_year": "2024/25", "period": "SUM2"}
    rwm = body["primary_subjects"][3]
    assert (rwm["pct"], rwm["previous_pct"], rwm["change"], rwm["display"], rwm["direction"]) == (
        50.0, 60.0, -10.0, "-10.0", "down"
    )


async def test_a_change_that_rounds_to_zero_shows_about_zero_without_an_arrow(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.counts("2025/26", "SPR1", "reading", "S1", at=667, below=333)  # 66.7%
    await gateway.seed.counts("2025/26", "SPR2", "reading", "S1", at=2, below=1)  # 66.666...%

    reading = (await dashboard(gateway, "2025/26", "SPR2"))["primary_subjects"][0]

    assert reading["change"] == 0.0
    assert (reading["display"], reading["direction"]) == ("~ 0", "none")


async def test_current_data_without_a_previous_period_has_no_change(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.counts("2025/26", "AUT1", "maths", "S1", at=3, below=1)

    maths = (await dashboard(gateway, "2025/26", "AUT1"))["primary_subjects"][2]

    assert (maths["pct"], maths["previous_pct"], maths["change"], maths["display"]) == (75.0, None, None, "–")


async def test_filters_apply_to_both_periods(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    for period, boys_at in (("AUT1", 0), ("AUT2", 4)):
        await gateway.seed.counts("2025/26", period, "reading", "S1", cell(sex=Sex.M), at=boys_at, below=4 - boys_at)
        await gateway.seed.counts("2025/26", period, "reading", "S1", cell(sex=Sex.F), at=4)

    reading = (await dashboard(gateway, "2025/26", "AUT2", sex="M"))["primary_subjects"][0]

    assert (reading["n"], reading["pct"], reading["previous_pct"], reading["display"]) == (4, 100.0, 0.0, "+100.0")


async def test_an_unknown_period_is_a_422_naming_period(gateway: Gateway) -> None:
    response = await gateway.get("/v1/dashboards/summative", academic_year="2025/26", period="WINTER")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "period"]


async def test_the_calendar_opens_on_the_latest_period_with_data(gateway: Gateway) -> None:
    years = academic_years_shown(date.today())
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.counts(years[1], "SPR2", "reading", "S1", at=1)
    await gateway.seed.counts(years[0], "SUM2", "E01", "S1", at=1)

    body = (await gateway.get("/v1/calendar")).json()

    today = current_period(PeriodCalendar(), date.today())
    assert body == {
        "academic_years": years,
        "periods": ["AUT1", "AUT2", "SPR1", "SPR2", "SUM1", "SUM2"],
        "current": {"academic_year": academic_year_of(date.today()), "period": today.period},
        "latest_with_data": {"academic_year": years[1], "period": "SPR2"},
        "latest_statutory_year": None,
    }


async def test_the_calendar_names_the_latest_year_with_statutory_results_for_the_statutory_pages(
    gateway: Gateway,
) -> None:
    years = academic_years_shown(date.today())
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.school("S2", "Ash Academy")
    await gateway.seed.counts(years[2], "AUT1", "reading", "S1", at=1)  # this year: summative only so far
    await gateway.seed.statutory(years[0], "ks2.rwm", "S1", EXS=3)
    await gateway.seed.statutory(years[1], "eyfs.gld", "S2", YES=2)
    await gateway.seed.statutory(years[2], "phonics.ks1", "S2", MET=2)  # last year's Year 1 checks, filed in Year 2

    body = (await gateway.get("/v1/calendar")).json()
    scoped = (await gateway.get("/v1/calendar", token="s1-viewer")).json()

    assert (body["latest_with_data"]["academic_year"], body["latest_statutory_year"]) == (years[2], years[1])
    assert scoped["latest_statutory_year"] == years[0]  # only the schools the caller may see count
