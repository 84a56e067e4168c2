"""Rebuild from a replay of the current facts into a fresh generation, then switch: on a real Redis.

The replay here is the facts themselves (as ingest's `GET /v1/replay/facts` would page them); the
HTTP replay is exercised end to end in `tests/test_rebuild_from_replay.py` and `tests/test_end_to_end.py`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest

from tidemark_metrics.domain.projection import METRICS
from tidemark_runtime.projections.engine import ProjectionEngine, TrustBatch
from tidemark_runtime.projections.operations import RebuildFailed, rebuild_trust, reconcile
from tidemark_runtime.projections.operations import stored_counters as stored_in
from tidemark_runtime.redis import RedisClient
from tidemark_runtime.testing import RedisTarget
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.events import AssessmentLocked, PupilUpserted, SchoolUpserted
from tidemark_schemas.notices import EVERYTHING

TRUST = "T"
PUPIL = dict(year_group="Y3", sex="F", fsm6=False, lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI",
             left_on=None, version=1)
BANDS = {"P1": ("AT", "AT", "ABOVE"), "P2": ("BELOW", "AT", "AT"), "P3": ("AT", "ABOVE", "AT")}


async def stored_counters(client: RedisClient, keys: Keyspace):
    return await stored_in(client, keys, METRICS.counter_kinds)


def result(pupil_id: str, subject: str, band: str, version: int = 2) -> AssessmentLocked:
    return AssessmentLocked(trust_id=TRUST, pupil_id=pupil_id, school_id="S1", academic_year="2025/26", period="AUT1",
                            year_group="Y3", subject=subject, entered_band=band, locked_band=band, version=version)


def a_school_of_three() -> list:
    """Current facts: a school, three pupils and their nine locked results."""
    return [
        SchoolUpserted(trust_id=TRUST, school_id="S1", name="Oak", version=1),
        *(PupilUpserted(trust_id=TRUST, pupil_id=p, school_id="S1", **PUPIL) for p in BANDS),
        *(result(p, subject, band) for p, bands in BANDS.items()
          for subject, band in zip(("reading", "writing", "maths"), bands, strict=True)),
    ]


async def replay(facts: Sequence, chunk: int = 5) -> AsyncIterator[Sequence]:
    for start in range(0, len(facts), chunk):
        yield facts[start:start + chunk]


@pytest.fixture
async def live(redis_target: RedisTarget) -> AsyncIterator[tuple[ProjectionEngine, Keyspace]]:
    """A school of three whose events the consumer has applied (on one server, and on a cluster)."""
    client = redis_target.client()
    prefix = f"rb{uuid.uuid4().hex[:6]}"
    engine = ProjectionEngine(client, prefix, METRICS)
    await engine.apply(a_school_of_three())
    yield engine, Keyspace(prefix, TRUST)
    async for key in client.scan_iter(match=f"{prefix}*"):
        await client.delete(key)
    await client.aclose()


async def test_a_rebuild_recomputes_the_live_figures_repairs_drift_and_switches_readers(live):
    engine, keys = live
    client = engine.redis
    healthy = await stored_counters(client, keys)
    reading = keys.counters("2025/26", "AUT1", "reading", "S1")
    drifted_field = next(iter(await client.hkeys(reading))).decode()
    await client.hincrby(reading, drifted_field, 5)  # a write from outside: the live figures drift

    report = await rebuild_trust(engine, keys, replay(a_school_of_three()), grace_seconds=0)

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
    assert (notice[b"measures"], notice[b"schools"]) == (EVERYTHING.encode(), b"S1")
    assert json.loads(await client.hget(rebuilt.schools, "S1"))["name"] == "Oak"


async def test_what_consumers_apply_during_a_rebuild_reaches_the_new_generation(live):
    engine, keys = live

    async def facts_with_a_correction_midway():
        """While the replay runs, a teacher corrects P2's reading and the consumer applies it."""
        corrected = False
        async for chunk in replay(a_school_of_three(), chunk=2):
            yield chunk
            if not corrected:
                await engine.apply([result("P2", "reading", "ABOVE", version=4)])
                corrected = True

    report = await rebuild_trust(engine, keys, facts_with_a_correction_midway(), grace_seconds=0)

    rebuilt = keys.at(report.generation)
    counters = await stored_counters(engine.redis, rebuilt)
    reading = {field.rsplit("|", 1)[1]: n for (key, field), n in counters.items() if key.endswith(":reading:S1")}
    assert reading == {"AT": 2, "ABOVE": 1}
    assert report.differences_from_previous == []
    assert (await reconcile(engine, rebuilt)).consistent


async def test_an_abandoned_rebuild_leaves_the_live_generation_alone(live):
    engine, keys = live
    client = engine.redis
    before = await stored_counters(client, keys)

    async def abandoned():
        async for chunk in replay(a_school_of_three()):
            await client.delete(keys.building_key)  # an operator cancels the rebuild
            yield chunk

    with pytest.raises(RebuildFailed, match="stopped being built"):
        await rebuild_trust(engine, keys, abandoned(), grace_seconds=0)
    assert await client.get(keys.generation_key) is None
    assert await stored_counters(client, keys) == before
    assert sorted(k.decode() for k in await client.keys(f"{engine.prefix}.*")) == []


async def test_a_batch_for_a_generation_no_one_builds_is_refused(live):
    engine, keys = live
    batch = TrustBatch.of(METRICS, [SchoolUpserted(trust_id=TRUST, school_id="S1", name="Oak", version=2)])
    assert await engine.apply_to(keys.at("nobody"), batch) is None
    assert await engine.apply_to(keys, batch) is not None
