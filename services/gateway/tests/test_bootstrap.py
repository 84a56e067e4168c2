"""The composition root: the use cases `bootstrap` builds from settings answer without HTTP, with the
adapters and clock a test hands in."""

from __future__ import annotations

from datetime import date
from functools import partial

import httpx
from redis.asyncio import Redis

from tidemark_gateway.bootstrap import bootstrap, connect
from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.testing import TRUST, Gateway, Seeder, gateway_settings
from tidemark_runtime.principal import Permission, Principal
from tidemark_schemas.aggregates import Keyspace, PupilFilter
from tidemark_schemas.calendar import PeriodRef

CALLER = Principal(trust_id=TRUST, role="viewer", permissions=frozenset({Permission.READ_FIGURES, Permission.READ_SMALL_GROUPS}))


async def test_the_bootstrapped_use_cases_answer_without_http_on_the_clock_handed_in(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    settings = gateway_settings(redis_url, prefix, assessment_periods=["AUT", "SPR", "SUM"])
    seed = Seeder(redis, Keyspace(prefix, TRUST))
    await seed.school("S1", "Oak Primary")
    await seed.counts("2024/25", "SPR", "reading", "S1", below=1, at=3)
    services = bootstrap(settings, today=lambda: date(2025, 2, 3))
    try:
        today = services.reference.today()
        calendar = await services.reference.calendar_view(CALLER, today, await services.reference.current_period(CALLER, today))
        report = await services.reports.attainment(CALLER, PeriodRef("2024/25", "SPR"), "reading", "school",
                                                   PupilFilter())
    finally:
        await services.aclose()

    assert (calendar.periods, calendar.current, calendar.latest_with_data) == (
        ["AUT", "SPR", "SUM"], PeriodRef("2024/25", "SPR"), PeriodRef("2024/25", "SPR"))
    assert calendar.academic_years == ["2022/23", "2023/24", "2024/25"]
    assert (report.all_pupils.n, report.all_pupils.at_or_above, report.all_pupils.pct) == (4, 3, 75.0)


async def test_the_app_serves_the_use_cases_its_lifespan_bootstrapped(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")

    direct = await gateway.services.reference.schools(CALLER)
    served = (await gateway.get("/v1/schools")).json()

    assert served == [{"school_id": school.school_id, "name": school.name} for school in direct]
    assert gateway.services.calendar.periods == tuple(gateway.settings.assessment_periods)


async def test_bootstrap_uses_the_read_model_it_is_given(redis_url: str, prefix: str) -> None:
    settings = gateway_settings(redis_url, prefix)
    read_model = connect(settings)
    services = bootstrap(settings, read_model=read_model)
    try:
        assert services.reports.read_model is read_model and services.live.read_model is read_model
        assert services.live.block_ms == 200  # the test suite's heartbeat, 0.2 s
    finally:
        await services.aclose()


async def test_the_app_builds_its_gateway_with_the_bootstrap_it_is_given(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    settings = gateway_settings(redis_url, prefix)
    await Seeder(redis, Keyspace(prefix, TRUST)).whole()  # a read model whole and empty
    app = create_app(settings, build=partial(bootstrap, today=lambda: date(2031, 10, 1)))

    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway", headers={"Authorization": "Bearer viewer"}
    ) as client:
        calendar = (await client.get("/v1/calendar")).json()

    assert calendar["current"] == {"academic_year": "2031/32", "period": "AUT1"}
    assert calendar["academic_years"] == ["2029/30", "2030/31", "2031/32"]
