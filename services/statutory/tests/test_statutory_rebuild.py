"""The statutory projection reconciles and rebuilds from the SQL store like the aggregates do."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis
from sqlalchemy import select

from tidemark_ingest.adapters.database import create_engine, session_factory
from tidemark_ingest.adapters.replay import Replay
from tidemark_ingest.adapters.store import OUTBOX
from tidemark_ingest.service_layer import IngestService
from tidemark_runtime.rebuild import rebuild_trust, reconcile, stored_counters
from tidemark_schemas.aggregates import statutory_keyspace
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.events import parse_tracker_event
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryRecord
from tidemark_statutory.adapters.redis_store import StatutoryStore
from tidemark_statutory.reconcile import COUNTER_KINDS, StatutoryProjection, trusts

TRUST = "T"


async def test_a_rebuild_from_sql_repairs_drift_and_reconciles(database_url, redis_url):
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

    redis = Redis.from_url(redis_url)
    prefix = f"strb{uuid.uuid4().hex[:6]}"
    store = StatutoryStore(redis, prefix)
    projection = StatutoryProjection(store)
    keys = statutory_keyspace(prefix, TRUST)
    replay = Replay(url)
    try:
        await store.apply([parse_tracker_event(p) for p in payloads])
        healthy = await stored_counters(redis, keys, COUNTER_KINDS)
        progress = keys.progress("2025/26", "AUT1", "S1")
        field = next(f.decode() for f in await redis.hkeys(progress) if f.decode().endswith("not_on_track_at"))
        assert (await reconcile(redis, projection, keys)).consistent
        await redis.hincrby(progress, field, 3)
        assert [m.stored - m.expected for m in (await reconcile(redis, projection, keys)).mismatches] == [3]

        report = await rebuild_trust(redis, projection, keys, replay.facts(TRUST), grace_seconds=0)

        rebuilt = keys.at(report.generation)
        assert [(m.field, m.stored - m.expected) for m in report.differences_from_previous] == [(field, 3)]
        assert {(k.replace(rebuilt.base, keys.base), f): v
                for (k, f), v in (await stored_counters(redis, rebuilt, COUNTER_KINDS)).items()} == healthy
        assert (report.pupils, await trusts(redis, prefix)) == (2, [TRUST])
        assert sorted(f.rsplit("|", 1)[1] for (_k, f) in healthy if "progress:" in _k) == [
            "not_on_track_at", "on_track_at"]  # P2 had greater depth at KS1 and is AT now
    finally:
        await replay.close()
        async for key in redis.scan_iter(match=f"{prefix}*"):
            await redis.delete(key)
        await redis.aclose()
        await engine.dispose()
