"""Bad input is a 4xx naming the field and the reason, never a 5xx (issue 10): academic years outside
the window, oversized bodies, and what `school=` answers for each kind of school, exactly as the
OpenAPI says."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from tidemark_gateway.testing import OTHER_TRUST, Gateway, Seeder, gateway_settings, in_process
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.calendar import format_academic_year
from tidemark_schemas.records import academic_year_window

PERIOD = {"period": "AUT1"}
ROUTES_WITH_A_YEAR = [
    ("/v1/reports/attainment", {"measure": "reading", "by": "school", **PERIOD}),
    ("/v1/reports/attainment-overview", {"measure": "reading", "by": "school", **PERIOD}),
    ("/v1/reports/progress-over-time", {}),
    ("/v1/reports/gaps", {"gap": "sex"}),
    ("/v1/reports/pupil-overview", PERIOD),
    ("/v1/reports/data-completion", PERIOD),
    ("/v1/reports/statutory", {"measure": "ks2.rwm"}),
    ("/v1/reports/progress-from-statutory", PERIOD),
    ("/v1/dashboards/summative", PERIOD),
    ("/v1/dashboards/statutory", {}),
]


@pytest.mark.parametrize(("path", "params"), ROUTES_WITH_A_YEAR)
@pytest.mark.parametrize("year", ["0001/02", "0000/01", "1999/00", "9999/00"])
async def test_an_academic_year_outside_the_window_is_a_422_naming_academic_year(
    gateway: Gateway, path: str, params: dict[str, str], year: str
) -> None:
    first, last = academic_year_window()

    response = await gateway.get(path, academic_year=year, **params)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "academic_year"]
    assert error["msg"] == f"Value error, must be between {format_academic_year(first)} and {format_academic_year(last)}"


@pytest.mark.parametrize("year", ["2025/26\n", "\u0662\u0660\u0662\u0665/\u0662\u0666", "2025/27"])
async def test_an_academic_year_is_two_consecutive_years_in_ascii_digits_and_nothing_else(
    gateway: Gateway, year: str
) -> None:
    response = await gateway.get("/v1/reports/gaps", gap="sex", academic_year=year)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "academic_year"]


async def test_the_first_and_last_academic_years_of_the_window_are_answered(gateway: Gateway) -> None:
    first, last = academic_year_window()

    answers = [await gateway.get("/v1/reports/gaps", gap="sex", academic_year=format_academic_year(year))
               for year in (first, last)]

    assert [response.status_code for response in answers] == [200, 200]


async def test_a_body_larger_than_max_body_bytes_is_a_413_before_authentication(gateway: Gateway) -> None:
    limit = gateway.settings.max_body_bytes

    refused = await gateway.client.request("GET", "/v1/schools", content=b"x" * (limit + 1))
    small = await gateway.client.request("GET", "/v1/schools", content=b"x" * 10)

    assert (refused.status_code, refused.json()) == (413, {"detail": f"the request body is larger than {limit} bytes"})
    assert small.status_code == 401  # read, then refused by authentication as usual
    assert limit == 1024 * 1024


async def test_school_answers_as_the_openapi_documents_it(gateway: Gateway) -> None:
    """Trust-wide: a school the Trust does not have, another Trust's included, is a 422 on `school`.
    School-scoped: any school outside its list is a 403, whether it exists, is another Trust's, or
    does not exist at all; checked before existence, so the answer says nothing about other schools."""
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.school("S2", "Ash Academy")
    await Seeder(gateway.seed.redis, Keyspace(gateway.seed.keys.prefix, OTHER_TRUST)).school("X1", "Elm")
    report = {"measure": "reading", "by": "school", "academic_year": "2025/26", "period": "AUT1"}

    async def status(token: str, *schools: str) -> tuple[int, object]:
        response = await gateway.get("/v1/reports/attainment", token=token, school=list(schools), **report)
        body = response.json()
        return response.status_code, body["detail"][0]["loc"] if response.status_code == 422 else body.get("detail")

    assert await status("viewer", "S1", "S2") == (200, None)
    assert await status("viewer", "S9") == (422, ["query", "school"])  # unknown
    assert await status("viewer", "X1") == (422, ["query", "school"])  # another Trust's
    assert await status("s1-viewer", "S1") == (200, None)
    assert await status("s1-viewer", "S2") == (403, "not allowed to see school(s): S2")  # exists, not its own
    assert await status("s1-viewer", "S9") == (403, "not allowed to see school(s): S9")  # does not exist
    assert await status("s1-viewer", "X1") == (403, "not allowed to see school(s): X1")  # another Trust's
    assert await status("other-viewer", "S1") == (422, ["query", "school"])  # this Trust's, to the other


async def test_a_422_can_echo_any_text_the_client_sent(gateway: Gateway) -> None:
    response = await gateway.get("/v1/reports/attainment", measure="Ōak – \U0001f600", by="school",
                                 academic_year="2025/26", period="AUT1")

    assert response.status_code == 422
    assert response.json()["detail"][0]["input"] == "Ōak – \U0001f600"
    assert response.content.isascii()


async def test_the_period_is_one_of_the_configured_calendars(redis_url: str, redis: Redis, prefix: str) -> None:
    """The period depends on ASSESSMENT_PERIODS: checked against the calendar the app was built
    with, and listed as such in its OpenAPI."""
    async with in_process(gateway_settings(redis_url, prefix, assessment_periods=["AUT", "SPR", "SUM"]), redis) as termly:
        half_term = await termly.get("/v1/reports/pupil-overview", academic_year="2025/26", period="AUT1")
        term = await termly.get("/v1/reports/pupil-overview", academic_year="2025/26", period="SPR")
        schema = (await termly.get("/openapi.json", token=None)).json()

    assert half_term.status_code == 422
    assert half_term.json()["detail"] == [{
        "type": "value_error", "loc": ["query", "period"], "input": "AUT1", "ctx": {"error": {}},
        "msg": "Value error, unknown period 'AUT1'; expected one of AUT, SPR, SUM"}]
    assert term.status_code == 200
    [period] = [p for p in schema["paths"]["/v1/reports/pupil-overview"]["get"]["parameters"] if p["name"] == "period"]
    assert (period["schema"]["enum"], period["schema"]["examples"]) == (["AUT", "SPR", "SUM"], ["AUT"])
