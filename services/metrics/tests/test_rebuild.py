"""Rebuild from the SQL store into a fresh generation, then switch: on a real PostgreSQL store and Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from tidemark_ingest.adapters import replay
from tidemark_ingest.adapters.database import create_engine, session_factory
from tidemark_ingest.adapters.store import OUTBOX
from tidemark_ingest.service_layer import IngestService
from tidemark_metrics.adapters.redis_store import AggregateStore, TrustBatch
from tidemark_metrics.reconcile import COUNTER_KINDS, MetricsProjection, reconcile_metrics
from tidemark_runtime.rebuild import REBUILT, RebuildFailed, rebuild_trust
from tidemark_runtime.rebuild import stored_counters as stored_in
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.events import SchoolUpserted, parse_tracker_event
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord

TRUST = "T"
PUPIL = dict(year_group="Y3", sex="F", fsm6=False, lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI")
SCOPE = LockScope(school_id="S1", academic_year="2025/26", period="AUT1")


async def stored_counters(client: Redis, keys: Keyspace):
    return await stored_in(client, keys, COUNTER_KINDS)


def result(pupil_id: str, subject: str, band: str) -> AssessmentRecord:
    return AssessmentRecord(pupil_id=pupil_id, school_id="S1", academic_year="2025/26", period="AUT1",
                            year_group="Y3", subject=subject, band=band)


@pytest.fixture
async def service(database_url) -> AsyncIterator[IngestService]:
    engine = create_engine(database_url)
    service = IngestService(session_factory(engine), PeriodCalendar())
    service.engine = engine  # type: ignore[attr-defined]
    service.reader = create_engine(database_url)  # type: ignore[attr-defined]  (as the rebuild CLI reads)
    yield service
    await service.reader.dispose()  # type: ignore[attr-defined]
    await engine.dispose()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url(redis_url)
    prefix = f"rb{uuid.uuid4().hex[:6]}"
    yield client, prefix
    async for key in client.scan_iter(match=f"{prefix}*"):
        await client.delete(key)
    await client.aclose()


async def published(service, after: int = 0) -> tuple[list, int]:
    """The outbox events after row `after`, as the consumers would receive them, and the last row id."""
    async with service.engine.connect() as connection:
        rows = (await connection.execute(select(OUTBOX.c.id, OUTBOX.c.payload).where(OUTBOX.c.id > after))).all()
    return [parse_tracker_event(row.payload) for row in rows], max((row.id for row in rows), default=after)


async def a_school_of_three(service) -> None:
    await service.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak")])
    await service.post_pupils(TRUST, [PupilRecord(pupil_id=p, school_id="S1", **PUPIL) for p in ("P1", "P2", "P3")])
    await service.enter_assessments(TRUST, [
        result(p, subject, band)
        for p, bands in (("P1", ("AT", "AT", "ABOVE")), ("P2", ("BELOW", "AT", "AT")), ("P3", ("AT", "ABOVE", "AT")))
        for subject, band in zip(("reading", "writing", "maths"), bands, strict=True)
    ])
    await service.lock(TRUST, SCOPE)


async def applied_live(service, client: Redis, prefix: str) -> tuple[AggregateStore, Keyspace, int]:
    """A school of three whose events the consumer has applied: the store, the Trust's keys and the
    last outbox row applied."""
    await a_school_of_three(service)
    store = AggregateStore(client, prefix)
    events, last = await published(service)
    await store.apply(events)
    return store, Keyspace(prefix, TRUST), last


async def test_a_rebuild_recomputes_the_live_figures_repairs_drift_and_switches_readers(service, redis):
    client, prefix = redis
    store, keys, _ = await applied_live(service, client, prefix)
    healthy = await stored_counters(client, keys)
    reading = keys.counters("2025/26", "AUT1", "reading", "S1")
    drifted_field = next(iter(await client.hkeys(reading))).decode()
    await client.hincrby(reading, drifted_field, 5)  # a write from outside: the live figures drift

    report = await rebuild_trust(client, MetricsProjection(store), keys, replay.fact_events(service.reader, TRUST), grace_seconds=0)

    rebuilt = keys.at(report.generation)
    assert (await client.get(keys.generation_key)).decode() == report.generation
    assert [(m.key, m.field, m.stored - m.expected) for m in report.differences_from_previous] == [
        (reading, drifted_field, 5)]
    assert {(key.replace(rebuilt.base, keys.base), field): value
            for (key, field), value in (await stored_counters(client, rebuilt)).items()} == healthy
    assert (report.pupils, report.events) == (3, 1 + 3 + 9)
    assert await stored_counters(client, keys) == {}  # the previous generation is gone...
    assert await client.exists(keys.changes) and await client.exists(keys.generation_key)  # ...but not the Trust's keys
    [(_id, notice)] = await client.xrevrange(keys.changes, count=1)
    assert (notice[b"measures"], notice[b"schools"]) == (REBUILT.encode(), b"S1")
    assert json.loads(await client.hget(rebuilt.schools, "S1"))["name"] == "Oak"


async def test_what_consumers_apply_during_a_rebuild_reaches_the_new_generation(service, redis):
    client, prefix = redis
    store, keys, last = await applied_live(service, client, prefix)

    async def facts_with_a_correction_midway():
        """While the replay runs, a teacher corrects P2's reading and the consumer applies it."""
        corrected = False
        async for chunk in replay.fact_events(service.reader, TRUST, chunk_rows=2):
            yield chunk
            if not corrected:
                await service.enter_assessments(TRUST, [result("P2", "reading", "ABOVE")])
                await service.lock(TRUST, SCOPE)
                live, _ = await published(service, after=last)
                await store.apply(live)
                corrected = True

    report = await rebuild_trust(client, MetricsProjection(store), keys, facts_with_a_correction_midway(), grace_seconds=0)

    rebuilt = keys.at(report.generation)
    counters = await stored_counters(client, rebuilt)
    reading = {field.rsplit("|", 1)[1]: n for (key, field), n in counters.items() if key.endswith(":reading:S1")}
    assert reading == {"AT": 2, "ABOVE": 1}
    assert report.differences_from_previous == []
    assert (await reconcile_metrics(client, rebuilt)).consistent


async def test_an_abandoned_rebuild_leaves_the_live_generation_alone(service, redis):
    client, prefix = redis
    store, keys, _ = await applied_live(service, client, prefix)
    before = await stored_counters(client, keys)

    async def abandoned():
        async for chunk in replay.fact_events(service.reader, TRUST):
            await client.delete(keys.building_key)  # an operator cancels the rebuild
            yield chunk

    with pytest.raises(RebuildFailed, match="stopped being built"):
        await rebuild_trust(client, MetricsProjection(store), keys, abandoned(), grace_seconds=0)
    assert await client.get(keys.generation_key) is None
    assert await stored_counters(client, keys) == before
    assert sorted(k.decode() for k in await client.keys(f"{prefix}.*")) == []


async def test_a_batch_for_a_generation_no_one_builds_is_refused(redis):
    client, prefix = redis
    store = AggregateStore(client, prefix)
    batch = TrustBatch.of([SchoolUpserted(trust_id=TRUST, school_id="S1", name="Oak", version=1)])
    assert await store.apply_to(Keyspace(prefix, TRUST).at("nobody"), batch) is None
    assert await store.apply_to(Keyspace(prefix, TRUST), batch) is not None
