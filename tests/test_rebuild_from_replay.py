"""A projection rebuilds from the replay ingest serves, over HTTP, never from ingest's code or
database: the facts are stored by ingest's own service layer, served by its replay routes (the
whole app, built by its `bootstrap`), read by the shared `HttpReplay`, and the rebuilt statutory
projection equals the one built live, from the kinds of facts it asks for."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from tidemark_ingest.adapters.store import OUTBOX
from tidemark_ingest.testing import in_process, ingest_settings
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import rebuild_trust, reconcile, stored_counters
from tidemark_runtime.projections.replay import HttpReplay, ReplayUnavailable
from tidemark_schemas.events import parse_tracker_event
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.replay import FactKind
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryRecord
from tidemark_statutory.domain.projection import STATUTORY

TRUST = "T"
TOKEN = "replay-secret"


@pytest.fixture
async def ingest_app(database_url):
    """Ingest's whole app, built by its `bootstrap` on the test's store, serving the replay to TOKEN."""
    async with in_process(ingest_settings(database_url, replay_token=TOKEN)) as app:
        yield app


async def test_a_rebuild_from_sql_repairs_drift_and_reconciles(ingest_app, redis_target):
    ingest = ingest_app.services.tracker
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
    async with ingest_app.services.engine.connect() as connection:
        payloads = (await connection.execute(select(OUTBOX.c.payload).order_by(OUTBOX.c.id))).scalars().all()

    redis = redis_target.client()
    projection = ProjectionEngine(redis, f"strb{uuid.uuid4().hex[:6]}", STATUTORY)
    keys = projection.keyspace(TRUST)
    kinds = STATUTORY.counter_kinds
    replay = HttpReplay("http://ingest", TOKEN, limit=3, transport=httpx.ASGITransport(ingest_app.app))
    try:
        await projection.apply([parse_tracker_event(p) for p in payloads])
        healthy = await stored_counters(redis, keys, kinds)
        progress = keys.progress("2025/26", "AUT1", "S1")
        field = next(f.decode() for f in await redis.hkeys(progress) if f.decode().endswith("not_on_track_at"))
        assert (await reconcile(projection, keys)).consistent
        await redis.hincrby(progress, field, 3)
        assert [m.stored - m.expected for m in (await reconcile(projection, keys)).mismatches] == [3]

        assert await replay.trust_ids() == [TRUST]
        report = await rebuild_trust(projection, keys, replay.facts(TRUST, STATUTORY.facts), grace_seconds=0)

        rebuilt = keys.at(report.generation)
        assert [(m.field, m.stored - m.expected) for m in report.differences_from_previous] == [(field, 3)]
        assert {(k.replace(rebuilt.base, keys.base), f): v
                for (k, f), v in (await stored_counters(redis, rebuilt, kinds)).items()} == healthy
        # the facts it is rebuilt from only: its pupils, statutory and summative results (not the school)
        assert (report.pupils, report.events, await projection.trusts()) == (2, 2 + 6 + 6, [TRUST])
        assert sorted(f.rsplit("|", 1)[1] for (_k, f) in healthy if "progress:" in _k) == [
            "not_on_track_at", "on_track_at"]  # P2 had greater depth at KS1 and is AT now
    finally:
        await replay.close()
        async for key in redis.scan_iter(match=f"{projection.prefix}*"):
            await redis.delete(key)
        await redis.aclose()


async def test_the_replay_admits_only_its_token_and_refuses_a_forged_cursor(ingest_app):
    transport = httpx.ASGITransport(ingest_app.app)
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


async def test_the_replay_serves_the_kinds_asked_for_in_its_order_page_after_page(ingest_app):
    ingest = ingest_app.services.tracker
    await ingest.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak")])
    await ingest.post_pupils(TRUST, [PupilRecord(pupil_id=p, school_id="S1", year_group="Y4", sex="F", fsm6=False,
                                                 lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI")
                                     for p in ("P1", "P2", "P3")])
    await ingest.enter_assessments(TRUST, [
        AssessmentRecord(pupil_id=p, school_id="S1", academic_year="2025/26", period="AUT1", year_group="Y4",
                         subject="reading", band="AT") for p in ("P1", "P2", "P3")])
    transport = httpx.ASGITransport(ingest_app.app)
    replay = HttpReplay("http://ingest", TOKEN, limit=2, transport=transport)
    try:
        pages = [[fact.event_type for fact in page] async for page in replay.facts(TRUST, {FactKind.RESULTS,
                                                                                          FactKind.SCHOOLS})]
        everything = [fact.event_type async for page in replay.facts(TRUST) for fact in page]
    finally:
        await replay.close()
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        unknown = await client.get("/v1/replay/facts", params={"trust_id": TRUST, "kinds": "gossip"},
                                   headers={"Authorization": f"Bearer {TOKEN}"})

    assert pages == [["school-upserted", "assessment-entered"], ["assessment-entered", "assessment-entered"]]
    assert everything == ["school-upserted", *["pupil-upserted"] * 3, *["assessment-entered"] * 3]
    assert (unknown.status_code, unknown.json()["detail"][0]["loc"]) == (422, ["query", "kinds", 0])
