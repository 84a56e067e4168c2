"""The metrics read model repairs itself (`tidemark_runtime.projections.recovery`): a Redis that
lost the read model, or a broker that lost its events, is noticed and every Trust rebuilt from the
SQL store's replay, readers being told "restoring" meanwhile; a read model counted in another
layout (an upgrade) is rebuilt in this code's, its figures served meanwhile; a fresh store just
gets its epoch and layout."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Sequence

import pytest
from redis.asyncio import Redis

from tidemark_metrics.domain.projection import METRICS
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import stored_counters
from tidemark_runtime.projections.recovery import LOCK_SECONDS, Recovery
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.events import AssessmentLocked, PupilUpserted, SchoolUpserted
from tidemark_schemas.replay import FACT_KINDS, FactKind

PUPIL = dict(year_group="Y3", sex="F", fsm6=False, lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI",
             left_on=None, version=1)


def facts_of(trust: str) -> list:
    return [
        SchoolUpserted(trust_id=trust, school_id="S1", name="Oak", version=1),
        *(PupilUpserted(trust_id=trust, pupil_id=p, school_id="S1", **PUPIL) for p in ("P1", "P2")),
        *(AssessmentLocked(trust_id=trust, pupil_id=p, school_id="S1", academic_year="2025/26", period="AUT1",
                           year_group="Y3", subject="reading", entered_band=band, locked_band=band, version=2)
          for p, band in (("P1", "AT"), ("P2", "BELOW"))),
    ]


class Store:
    """The SQL store as its replay serves it: every Trust's current facts."""

    def __init__(self, held: dict[str, list]) -> None:
        self.held = held

    async def trust_ids(self) -> list[str]:
        return sorted(self.held)

    async def facts_of(self, trust_id: str) -> AsyncIterator[Sequence]:
        yield self.held[trust_id]

    async def _only(self, trust_id: str, kinds: Collection[FactKind] | None) -> AsyncIterator[Sequence]:
        async for page in self.facts_of(trust_id):
            yield [fact for fact in page if kinds is None or FACT_KINDS[type(fact)] in kinds]

    def facts(self, trust_id: str, kinds: Collection[FactKind] | None = None) -> AsyncIterator[Sequence]:
        """The Trust's facts of `kinds`, as the replay serves them (the rebuild asks for the projection's)."""
        return self._only(trust_id, kinds)

    async def close(self) -> None:
        pass


class Broker:
    incarnation = "first"

    async def current(self) -> str:
        return self.incarnation


@pytest.fixture
async def engine(redis_url: str) -> AsyncIterator[ProjectionEngine]:
    client = Redis.from_url(redis_url)
    engine = ProjectionEngine(client, f"rc{uuid.uuid4().hex[:6]}", METRICS)
    yield engine
    async for key in client.scan_iter(match=f"{engine.prefix}*"):
        await client.delete(key)
    await client.aclose()


def watchdog(engine: ProjectionEngine, store: Store, broker: Broker) -> Recovery:
    return Recovery(engine, broker.current, lambda: store, grace_seconds=0)  # type: ignore[arg-type,return-value]  # stand-ins, not the real store and broker


def restoring_seen_by_the_replay(engine: ProjectionEngine, store: Store) -> list:
    """Each Trust's restoring marker as the rebuild's replay of it begins (the stand-in's replay, watched)."""
    seen: list = []

    async def replay(trust_id: str) -> AsyncIterator[Sequence]:
        seen.append(await engine.redis.get(Keyspace(engine.prefix, trust_id).restoring_key))
        yield store.held[trust_id]

    store.facts_of = replay  # type: ignore[method-assign]
    return seen


async def counters(engine: ProjectionEngine, trust: str) -> dict:
    keys = Keyspace(engine.prefix, trust)
    live = keys.at((await engine.redis.get(keys.generation_key) or b"").decode())
    return {(key.replace(live.base, "~"), field): n for (key, field), n in
            (await stored_counters(engine.redis, live, METRICS.counter_kinds)).items()}


async def test_a_fresh_store_gets_its_epoch_and_nothing_is_rebuilt(engine):
    recovery = watchdog(engine, Store({}), Broker())
    assert await recovery.check() is None
    assert await engine.redis.get(recovery.epoch_key) is not None
    assert (await engine.redis.get(recovery.incarnation_key)).decode() == "first"
    assert (await engine.redis.get(recovery.layout_key)).decode() == METRICS.layout == "cells 2, rules 1"


async def test_a_read_model_lost_from_redis_is_rebuilt_and_readers_are_told_meanwhile(engine):
    store, broker = Store({"T1": facts_of("T1"), "T2": facts_of("T2")}), Broker()
    recovery = watchdog(engine, Store({}), broker)
    await recovery.check()  # the epoch of an empty store
    await engine.apply(facts_of("T1") + facts_of("T2"))
    healthy = {trust: await counters(engine, trust) for trust in ("T1", "T2")}
    async for key in engine.redis.scan_iter(match=f"{engine.prefix}*"):  # Redis comes back empty
        await engine.redis.delete(key)
    await engine.apply([facts_of("T1")[1]])  # a consumer writes on before anyone notices
    recovery = watchdog(engine, store, broker)

    seen_restoring = restoring_seen_by_the_replay(engine, store)
    finding = await recovery.check()
    assert finding is not None and finding.trust_ids == ("T1", "T2") and "missing from Redis" in finding.reason
    assert await recovery.recover(finding)

    assert seen_restoring == [finding.reason.encode()] * 2
    assert {trust: await counters(engine, trust) for trust in ("T1", "T2")} == healthy
    assert [await engine.redis.get(Keyspace(engine.prefix, t).restoring_key) for t in ("T1", "T2")] == [None, None]
    assert await recovery.check() is None and recovery.state == "ok"


async def test_a_broker_that_lost_its_events_makes_every_trust_be_rebuilt(engine):
    store, broker = Store({"T1": facts_of("T1")}), Broker()
    recovery = watchdog(engine, store, broker)
    assert await recovery.check() is not None  # the store has a Trust the empty read model lacks...
    assert await recovery.recover(await recovery.check())  # ...so it is built once
    await engine.apply(facts_of("T1")[:3])  # the two locks were published, then the broker died
    store.held["T1"] = facts_of("T1")
    broker.incarnation = "second"
    finding = await recovery.check()
    assert finding is not None and finding.reason.startswith("the broker") and finding.incarnation == "second"
    assert await recovery.recover(finding)
    reading = {f.rsplit("|", 1)[1]: n for (k, f), n in (await counters(engine, "T1")).items() if ":reading:" in k}
    assert reading == {"AT": 1, "BELOW": 1}
    assert (await engine.redis.get(recovery.incarnation_key)).decode() == "second"
    assert await recovery.check() is None


async def test_a_log_that_shrank_or_was_emptied_under_the_group_makes_every_trust_be_rebuilt(engine):
    store, broker = Store({"T1": facts_of("T1")}), Broker()
    recovery = watchdog(engine, store, broker)
    await recovery.recover(await recovery.check())
    positions = {"tracker.assessments.v1[3]": (12, 12), "tracker.pupils.v1[0]": (4, 4)}

    async def reported() -> dict[str, tuple[int | None, int]]:
        return positions

    recovery.positions = reported
    assert await recovery.check() is None  # the logs as first seen
    positions = {"tracker.assessments.v1[3]": (12, 9), "tracker.pupils.v1[0]": (4, 0)}
    finding = await recovery.check()
    assert finding is not None and finding.trust_ids == ("T1",)
    assert finding.reason == ("the broker's log lost records the consumers had read (tracker.assessments.v1[3]: "
                              "the log ended at 12, now at 9; tracker.pupils.v1[0]: the log ended at 4, now at 0)")
    positions = {"tracker.assessments.v1[3]": (12, 14), "tracker.pupils.v1[0]": (None, 0)}
    assert await recovery.check() is None  # a log that grows, an empty one nobody read: nothing lost


async def test_only_one_process_recovers_a_projection_at_a_time(engine):
    store, broker = Store({"T1": facts_of("T1")}), Broker()
    recovery = watchdog(engine, store, broker)
    await engine.redis.set(recovery.lock_key, "another process", ex=LOCK_SECONDS)
    assert not await recovery.recover(await recovery.check())
    assert await engine.redis.get(Keyspace(engine.prefix, "T1").generation_key) is None


@pytest.mark.parametrize("counted_in", [None, "cells 1, rules 1"])
async def test_a_read_model_counted_in_another_layout_is_rebuilt_in_this_ones_and_served_meanwhile(engine, counted_in):
    store, broker = Store({"T1": facts_of("T1"), "T2": facts_of("T2")}), Broker()
    recovery = watchdog(engine, store, broker)
    assert await recovery.recover(await recovery.check())  # built, in this layout
    healthy = {trust: await counters(engine, trust) for trust in ("T1", "T2")}
    keys = Keyspace(engine.prefix, "T1")
    live = keys.at((await engine.redis.get(keys.generation_key)).decode())
    old_cell = next(key for key in await engine.redis.keys(f"{live.base}:agg:*"))
    await engine.redis.hset(old_cell, "Y3|F|0|N|0|WHITE|0|AT", 1)  # a field as an older version wrote it
    if counted_in is None:
        await engine.redis.delete(recovery.layout_key)  # counted before layouts were recorded
    else:
        await engine.redis.set(recovery.layout_key, counted_in)
    seen_restoring = restoring_seen_by_the_replay(engine, store)
    finding = await recovery.check()

    assert finding is not None and finding.trust_ids == ("T1", "T2") and finding.serve_meanwhile
    assert finding.reason.endswith("this version counts in layout 'cells 2, rules 1'")
    assert (counted_in or "before layouts were recorded") in finding.reason
    assert await recovery.recover(finding)
    assert seen_restoring == [None, None]  # the figures were served while they were rebuilt
    assert {trust: await counters(engine, trust) for trust in ("T1", "T2")} == healthy
    assert (await engine.redis.get(recovery.layout_key)).decode() == METRICS.layout
    assert await recovery.check() is None


async def test_a_store_without_trusts_counted_in_another_layout_just_records_this_one(engine):
    recovery = watchdog(engine, Store({}), Broker())
    await recovery.check()
    await engine.redis.set(recovery.layout_key, "cells 1, rules 1")

    assert await recovery.check() is None
    assert (await engine.redis.get(recovery.layout_key)).decode() == METRICS.layout
