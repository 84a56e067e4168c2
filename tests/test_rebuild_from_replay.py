"""A projection rebuilds from the replay ingest serves, over HTTP, never from ingest's code or
database: the facts are stored by ingest's own service layer, served by its replay routes, read by
the shared `HttpReplay`, and the rebuilt statutory projection equals the one built live."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from tidemark_ingest.adapters.database import create_engine, session_factory
from tidemark_ingest.adapters.store import OUTBOX
from tidemark_ingest.entrypoints.replay import router as replay_router
from tidemark_ingest.service_layer import IngestService
from tidemark_ingest.settings import IngestSettings
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import rebuild_trust, reconcile, stored_counters
from tidemark_runtime.projections.replay import HttpReplay, ReplayUnavailable
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.events import parse_tracker_event
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryRecord
from tidemark_statutory.domain.projection import STATUTORY

TRUST = "T"
TOKEN = "replay-secret"


def replay_app(engine) -> FastAPI:
    """Ingest's replay routes over its store (the whole ingest app would also start its relay)."""
    app = FastAPI()
    app.include_router(replay_router)
    app.state.engine = engine
    app.state.settings = IngestSettings(replay_token=TOKEN)
    return app


async def test_a_rebuild_from_sql_repairs_drift_and_reconciles(database_url, redis_target):
    url = database_url
    engine = create_engine(url)
    ingest = IngestService(session_factory(engine), PeriodCalendar())
    await ingest.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak")])
    await ingest.post_pupils(TRUST, [PupilRecord(pupil_id=p, school_id="S1", year_group="Y4", sex="F", fsm6=False,
                                                 lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI")
                                     for p in ("P1", "P2")])
    await ingest.enter_statutory(TRUST, [
        StatutoryRecord(pupil_id=p, school_id="S1", academic_year="2023/24", assessment="ks1", component=c, code=code)
        for p, code in (("P1", "EXS"), ("P2", "GDS")) for c in ("reading_ta", "writing_ta", "maths_ta")
    ])
    await ingest.lock_statutory(TRUST, StatutoryLockScope(school_id="S1", academic_year="2023/24"))
    await ingest.enter_assessments(TRUST, [
        AssessmentRecord(pupil_id=p, school_id="S1", academic_year="2025/26", period="AUT1", year_group="Y4",
                         subject=s, band="AT") for p in ("P1", "P2") for s in ("reading", "writing", "maths")
    ])
    await ingest.lock(TRUST, LockScope(school_id="S1", academic_year="2025/26", period="AUT1"))
    async with engine.connect() as connection:
        payloads = (await connection.execute(select(OUTBOX.c.payload).order_by(OUTBOX.c.id))).scalars().all()

    redis = redis_target.client()
    projection = ProjectionEngine(redis, f"strb{uuid.uuid4().hex[:6]}", STATUTORY)
    keys = projection.keyspace(TRUST)
    kinds = STATUTORY.counter_kinds
    replay = HttpReplay("http://ingest", TOKEN, limit=3, transport=httpx.ASGITransport(replay_app(engine)))
    try:
        await projection.apply([parse_tracker_event(p) for p in payloads])
        healthy = await stored_counters(redis, keys, kinds)
        progress = keys.progress("2025/26", "AUT1", "S1")
        field = next(f.decode() for f in await redis.hkeys(progress) if f.decode().endswith("not_on_track_at"))
        assert (await reconcile(projection, keys)).consistent
        await redis.hincrby(progress, field, 3)
        assert [m.stored - m.expected for m in (await reconcile(projection, keys)).mismatches] == [3]

        assert await replay.trust_ids() == [TRUST]
        report = await rebuild_trust(projection, keys, replay.facts(TRUST), grace_seconds=0)

        rebuilt = keys.at(report.generation)
        assert [(m.field, m.stored - m.expected) for m in report.differences_from_previous] == [(field, 3)]
        assert {(k.replace(rebuilt.base, keys.base), f): v
                for (k, f), v in (await stored_counters(redis, rebuilt, kinds)).items()} == healthy
        assert (report.pupils, report.events, await projection.trusts()) == (2, 1 + 2 + 6 + 6, [TRUST])
        assert sorted(f.rsplit("|", 1)[1] for (_k, f) in healthy if "progress:" in _k) == [
            "not_on_track_at", "on_track_at"]  # P2 had greater depth at KS1 and is AT now
    finally:
        await replay.close()
        async for key in redis.scan_iter(match=f"{projection.prefix}*"):
            await redis.delete(key)
        await redis.aclose()
        await engine.dispose()


async def test_the_replay_admits_only_its_token_and_refuses_a_forged_cursor(database_url):
    engine = create_engine(database_url)
    transport = httpx.ASGITransport(replay_app(engine))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            assert (await client.get("/v1/replay/trusts")).status_code == 401
            wrong = await client.get("/v1/replay/trusts", headers={"Authorization": "Bearer guess"})
            assert wrong.status_code == 401
            forged = await client.get("/v1/replay/facts", params={"trust_id": TRUST, "cursor": "bm90IGEgY3Vyc29y"},
                                      headers={"Authorization": f"Bearer {TOKEN}"})
            assert forged.status_code == 422
        stranger = HttpReplay("http://ingest", "guess", transport=transport)
        try:
            await stranger.trust_ids()
            raise AssertionError("a wrong token was admitted")
        except ReplayUnavailable as refused:
            assert "401" in str(refused)
        finally:
            await stranger.close()
    finally:
        await engine.dispose()
