"""Ingest's /healthz (liveness) and /readyz (readiness): ready when PostgreSQL answers, the broker
answers with the tracker topics, and the outbox relay runs with nothing waiting too long; otherwise a
503 whose body names the check that failed."""

from __future__ import annotations

import asyncio
import functools

import httpx

from tidemark_ingest.adapters.database import create_engine
from tidemark_ingest.bootstrap import bootstrap, create_topics
from tidemark_ingest.entrypoints.app import create_app
from tidemark_ingest.service_layer.readiness import Readiness
from tidemark_ingest.testing import TRUST, AcknowledgingBroker, in_process, ingest_settings
from tidemark_runtime.embedded import free_port
from tidemark_schemas.records import SchoolRecord


class SilentBroker:
    """Takes every record and never acknowledges one (a broker that hangs)."""

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()


async def test_ingest_with_its_database_broker_topics_and_relay_is_ready(database_url, kafka_bootstrap):
    settings = ingest_settings(database_url, kafka_bootstrap_servers=kafka_bootstrap)
    await create_topics(settings)  # what ingest does at start with a real producer
    async with in_process(settings) as ingest:
        health = await ingest.client.get("/healthz")
        ready = await ingest.client.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200, ready.json()
    body = ready.json()
    assert body["ready"] is True
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True, "broker": True, "topics": True, "relay": True,
    }
    assert body["checks"]["topics"]["missing"] == []
    assert body["checks"]["relay"]["oldest_unpublished_seconds"] is None


async def test_a_relay_whose_oldest_row_waits_past_the_bound_is_not_ready_and_says_so(database_url, kafka_bootstrap):
    settings = ingest_settings(database_url, kafka_bootstrap_servers=kafka_bootstrap, ready_max_outbox_age_seconds=0.2)
    await create_topics(settings)
    app = create_app(settings, build=functools.partial(bootstrap, producer=SilentBroker()))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as client:
            headers = {"Authorization": "Bearer ingest"}
            posted = await client.post("/v1/schools", json=[{"school_id": "S1", "name": "Oak"}], headers=headers)
            assert posted.status_code == 200
            # Until the row is older than the bound and the relay says why it waits (after 2 s).
            while "last_error" not in (ready := await client.get("/readyz")).json()["checks"]["relay"]:
                await asyncio.sleep(0.05)
            health = await client.get("/healthz")
            status = (await client.get("/status")).json()

    assert ready.status_code == 503
    relay = ready.json()["checks"]["relay"]
    assert relay["ok"] is False and relay["running"] is True
    assert relay["oldest_unpublished_seconds"] > relay["max_seconds"] == 0.2
    assert relay["last_error"].startswith("the broker has not acknowledged 1 events")
    assert {name for name, check in ready.json()["checks"].items() if not check["ok"]} == {"relay"}
    assert health.status_code == 200  # alive: a restart would not make the broker answer
    assert (status["outbox_backlog"], status["published"]) == (1, 0)


async def test_unreachable_database_and_broker_are_named_and_the_relay_is_not_vouched_for(database_url):
    async with bootstrap(ingest_settings(database_url), producer=AcknowledgingBroker()) as ingest:
        nowhere = create_engine(f"postgresql+asyncpg://tidemark@127.0.0.1:{free_port()}/tidemark")
        try:
            readiness = Readiness(nowhere, ingest.relay, f"127.0.0.1:{free_port()}", 30.0)
            checks = await readiness.checks()
        finally:
            await nowhere.dispose()

    assert {name: check["ok"] for name, check in checks.items()} == {
        "database": False, "broker": False, "topics": False, "relay": False,
    }
    assert checks["database"]["error"] and checks["broker"]["error"]
    assert checks["relay"]["error"] == "the database does not answer"


async def test_the_readiness_routes_need_no_token_and_are_documented(database_url, kafka_bootstrap):
    async with in_process(ingest_settings(database_url, kafka_bootstrap_servers=kafka_bootstrap)) as ingest:
        document = (await ingest.client.get("/openapi.json")).json()
        await ingest.services.tracker.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak")])
        status = await ingest.client.get("/status")

    assert set(document["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert "401" not in document["paths"]["/status"]["get"]["responses"]
    assert status.status_code == 200
    assert set(status.json()) == {"outbox_backlog", "oldest_unpublished_seconds", "published", "topics_restored"}
