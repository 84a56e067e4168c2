"""The new reports keep to the caller's schools and name a bad parameter in their 422."""

from __future__ import annotations

import json

import pytest

from tidemark_gateway.testing import Gateway, cell
from tidemark_schemas.vocabulary import Sex

YEAR, PERIOD = "2025/26", "AUT1"

REPORTS: dict[str, dict[str, object]] = {
    "/v1/reports/attainment-overview": {"measure": "reading", "by": "school", "academic_year": YEAR, "period": PERIOD},
    "/v1/reports/progress-over-time": {"measure": "reading", "by": "school", "academic_year": YEAR},
    "/v1/reports/gaps": {"gap": "sex", "subject": "reading", "academic_year": YEAR},
    "/v1/reports/pupil-overview": {"by": "school", "academic_year": YEAR, "period": PERIOD},
    "/v1/reports/data-completion": {"academic_year": YEAR, "period": PERIOD},
}


async def two_schools_with_data(gateway: Gateway) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.school("S2", "Ash Academy")
    for school, pupils in (("S1", 1), ("S2", 7)):
        for measure in ("reading", "pupils", "entered.reading"):
            await seed.counts(YEAR, PERIOD, measure, school, at=pupils)
            await seed.counts(YEAR, PERIOD, measure, school, cell(sex=Sex.M), below=pupils)
        await seed.roll(school, pupils=pupils)


@pytest.mark.parametrize("path", list(REPORTS))
async def test_a_school_scoped_viewer_sees_only_its_school_in_every_new_report(gateway: Gateway, path: str) -> None:
    await two_schools_with_data(gateway)

    response = await gateway.get(path, token="s1-viewer", **REPORTS[path])

    assert response.status_code == 200, response.text
    text = json.dumps(response.json())
    assert "S2" not in text and "Ash Academy" not in text
    assert " 7" not in text and " 14" not in text  # none of S2's figures, pooled or not


@pytest.mark.parametrize("path", list(REPORTS))
async def test_a_school_scoped_viewer_asking_for_another_school_gets_403_in_every_new_report(
    gateway: Gateway, path: str
) -> None:
    await two_schools_with_data(gateway)

    response = await gateway.get(path, token="s1-viewer", school="S2", **REPORTS[path])

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "parameter", "value"),
    [
        ("/v1/reports/attainment-overview", "measure", "geology"),
        ("/v1/reports/attainment-overview", "by", "subject"),
        ("/v1/reports/attainment-overview", "period", "AUT3"),
        ("/v1/reports/progress-over-time", "by", "house"),
        ("/v1/reports/progress-over-time", "measure", "geology"),
        ("/v1/reports/progress-over-time", "academic_year", "2025-26"),
        ("/v1/reports/gaps", "gap", "age"),
        ("/v1/reports/gaps", "subject", "science"),
        ("/v1/reports/gaps", "sex", "X"),
        ("/v1/reports/pupil-overview", "by", "subject"),
        ("/v1/reports/pupil-overview", "year_group", "Y7"),
        ("/v1/reports/data-completion", "period", "AUT3"),
        ("/v1/reports/data-completion", "academic_year", "2025/27"),
    ],
)
async def test_an_unknown_value_is_a_422_naming_the_parameter(
    gateway: Gateway, path: str, parameter: str, value: str
) -> None:
    response = await gateway.get(path, **{**REPORTS[path], parameter: value})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", parameter]


@pytest.mark.parametrize("path", list(REPORTS))
async def test_an_unknown_school_is_a_422_naming_school_in_every_new_report(gateway: Gateway, path: str) -> None:
    await two_schools_with_data(gateway)

    response = await gateway.get(path, school="S9", **REPORTS[path])

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "school"]


async def test_the_gap_report_requires_the_gap_parameter(gateway: Gateway) -> None:
    response = await gateway.get("/v1/reports/gaps", academic_year=YEAR)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "gap"]
