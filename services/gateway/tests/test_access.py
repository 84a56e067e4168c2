"""Who may see what: bearer tokens, roles, school-scoped viewers and Trust isolation."""

from __future__ import annotations

import httpx
import pytest

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.testing import Gateway, gateway_settings
from tidemark_runtime.embedded import free_port

REPORT = {"measure": "reading", "by": "school", "academic_year": "2025/26", "period": "AUT1"}
DASHBOARD = {"academic_year": "2025/26", "period": "AUT1"}


async def two_schools_with_results(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.school("S2", "Ash Academy")
    await gateway.seed.counts("2025/26", "AUT1", "reading", "S1", at=1, below=3)
    await gateway.seed.counts("2025/26", "AUT1", "reading", "S2", at=8)


@pytest.mark.parametrize("path", ["/v1/reports/attainment", "/v1/dashboards/summative", "/v1/schools",
                                  "/v1/calendar", "/v1/live", "/v1/reports/attainment-overview",
                                  "/v1/reports/progress-over-time", "/v1/reports/gaps",
                                  "/v1/reports/pupil-overview", "/v1/reports/data-completion"])
async def test_every_v1_endpoint_needs_a_bearer_token(gateway: Gateway, path: str) -> None:
    missing = await gateway.get(path, token=None, **REPORT)
    unknown = await gateway.get(path, token="not-a-token", **REPORT)

    assert (missing.status_code, unknown.status_code) == (401, 401)
    assert missing.headers["www-authenticate"] == "Bearer"


async def test_an_ingest_token_may_not_read_dashboards(gateway: Gateway) -> None:
    response = await gateway.get("/v1/reports/attainment", token="ingest", **REPORT)

    assert response.status_code == 403


async def test_a_school_scoped_viewer_sees_only_its_school_and_all_pupils_pooled_over_it(gateway: Gateway) -> None:
    await two_schools_with_results(gateway)

    report = (await gateway.get("/v1/reports/attainment", token="s1-viewer", **REPORT)).json()
    tiles = (await gateway.get("/v1/dashboards/summative", token="s1-viewer", **DASHBOARD)).json()
    schools = (await gateway.get("/v1/schools", token="s1-viewer")).json()

    assert [row["group"] for row in report["rows"]] == ["S1"]
    assert report["all_pupils"] == {"group": "all", "label": "All Pupils", "n": 4, "at_or_above": 1, "pct": 25.0}
    assert tiles["primary_subjects"][0]["pct"] == 25.0
    assert schools == [{"school_id": "S1", "name": "Oak Primary"}]


async def test_a_school_scoped_viewer_asking_for_another_school_gets_403(gateway: Gateway) -> None:
    await two_schools_with_results(gateway)

    report = await gateway.get("/v1/reports/attainment", token="s1-viewer", **REPORT, school=["S1", "S2"])
    tiles = await gateway.get("/v1/dashboards/summative", token="s1-viewer", **DASHBOARD, school="S2")
    nonexistent = await gateway.get("/v1/reports/attainment", token="s1-viewer", **REPORT, school="S7")

    assert (report.status_code, tiles.status_code) == (403, 403)
    assert "S2" in report.json()["detail"]
    assert nonexistent.status_code == 403  # existence of other schools is not revealed


async def test_a_school_scoped_viewer_never_reads_another_schools_keys(gateway: Gateway) -> None:
    await two_schools_with_results(gateway)
    read: list[str] = []
    monitor_client = gateway.seed.redis

    async with monitor_client.monitor() as monitor:
        listening = monitor.listen()

        await gateway.get("/v1/reports/attainment", token="s1-viewer", **REPORT)
        await gateway.seed.redis.ping()  # a marker after the request's commands
        async for command in listening:
            if command["command"] == "PING":
                break
            read.append(command["command"])

    counter_reads = [c for c in read if ":agg:" in c]
    assert counter_reads and all(c.endswith(":S1") for c in counter_reads)


async def test_another_trusts_viewer_sees_none_of_this_trusts_data(gateway: Gateway) -> None:
    await two_schools_with_results(gateway)

    report = (await gateway.get("/v1/reports/attainment", token="other-viewer", **REPORT)).json()
    schools = (await gateway.get("/v1/schools", token="other-viewer")).json()
    named = await gateway.get("/v1/reports/attainment", token="other-viewer", **REPORT, school="S1")

    assert report["rows"] == []
    assert report["all_pupils"]["n"] == 0
    assert schools == []
    assert named.status_code == 422  # S1 is not a school of the other Trust


async def test_health_and_readiness_answer_without_a_token_when_redis_answers(gateway: Gateway) -> None:
    for path in ("/healthz", "/readyz"):
        response = await gateway.get(path, token=None)
        assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_without_redis_the_gateway_is_alive_but_not_ready() -> None:
    app = create_app(gateway_settings(f"redis://127.0.0.1:{free_port()}/0", "unused"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            report = await client.get("/v1/schools", headers={"Authorization": "Bearer viewer"})

    assert health.status_code == 200
    assert (ready.status_code, ready.json()) == (503, {"detail": "Redis does not answer"})
    assert report.status_code == 503


async def test_the_web_ui_is_served_at_the_root(gateway: Gateway) -> None:
    response = await gateway.get("/", token=None)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Primary Subjects Overview" in response.text
