"""Each service does its real Redis work under its own user (`tidemark_runtime.access`) and Redis
refuses it nothing: the projections apply events, their recovery watchdogs record the epoch and the
broker's incarnation, take the recovery lock, mark Trusts restoring, rebuild a generation and
switch to it; reconcile compares; the readiness probe writes; the gateway reads every view. Redis
logs each refusal (`ACL LOG`), even one the code swallows (a readiness probe, a watchdog's retry),
and the test reads that log as the admin. On one server and on a cluster (ACLs are per node)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from redis.asyncio import RedisCluster

from tidemark_gateway.testing import TRUST, gateway_settings, in_process
from tidemark_metrics.service import SERVICES as METRICS_SERVICES
from tidemark_runtime.access import REDIS_ACCESS, RedisCredentials, refusals
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import live_keys, rebuild_trust, reconcile
from tidemark_runtime.projections.recovery import Recovery
from tidemark_runtime.projections.service import ProjectionService, Readiness
from tidemark_runtime.redis import RedisClient
from tidemark_runtime.testing import RedisTarget
from tidemark_schemas.events import (
    AssessmentLocked,
    AttendanceMarked,
    PupilUpserted,
    SchoolUpserted,
    StatutoryLocked,
)
from tidemark_schemas.statutory import StatutoryValue
from tidemark_statutory.service import SERVICE as STATUTORY_SERVICE

YEAR, PERIOD = "2025/26", "AUT2"
PROCESSES: dict[str, tuple[ProjectionService, ...]] = {"metrics": METRICS_SERVICES, "statutory": (STATUTORY_SERVICE,)}
"""The projection processes, by the service whose Redis user they log in as, and what each hosts."""


def pupil(pupil_id: str) -> PupilUpserted:
    return PupilUpserted(trust_id=TRUST, pupil_id=pupil_id, school_id="S1", year_group="Y4", sex="F", fsm6=False,
                         lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI", left_on=None, version=1)


def locked(pupil_id: str, subject: str, band: str, version: int = 1) -> AssessmentLocked:
    return AssessmentLocked(trust_id=TRUST, pupil_id=pupil_id, school_id="S1", academic_year=YEAR, period=PERIOD,
                            year_group="Y4", subject=subject, entered_band=band, locked_band=band, version=version)


def facts() -> list[Any]:
    """What the SQL store holds: a school, a pupil with KS1 results, locked results in every core
    subject (so the statutory projection places the pupil in a progress category) and a register mark."""
    return [
        SchoolUpserted(trust_id=TRUST, school_id="S1", name="Oak", version=1),
        pupil("P1"),
        *(StatutoryLocked(trust_id=TRUST, pupil_id="P1", school_id="S1", academic_year="2022/23", assessment="ks1",
                          component=component, entered=StatutoryValue(code="EXS"), locked=StatutoryValue(code="EXS"),
                          version=1) for component in ("reading_ta", "writing_ta", "maths_ta")),
        *(locked("P1", subject, "AT") for subject in ("reading", "writing", "maths")),
        AttendanceMarked(trust_id=TRUST, pupil_id="P1", school_id="S1", date=dt.date(2025, 11, 3), session="AM",
                         code="/", year_group="Y4", version=1),
    ]


class Store:
    """The SQL store as ingest's replay serves it."""

    def __init__(self, held: list[Any]) -> None:
        self.held = held

    async def trust_ids(self) -> list[str]:
        return [TRUST]

    async def _facts(self) -> AsyncIterator[Sequence[Any]]:
        yield self.held

    def facts(self, _trust_id: str, _kinds: object = None) -> AsyncIterator[Sequence[Any]]:
        return self._facts()

    async def close(self) -> None:
        pass


class SameBroker:
    """A broker that keeps its events (one incarnation), and that /readyz finds away: only Redis is
    asked here."""

    async def incarnation(self) -> str:
        return "first"

    async def ping(self, timeout: float) -> bool:
        return False


async def run_projection(redis: RedisClient, prefix: str, service: ProjectionService) -> None:
    """What a projection process does with Redis, as in production (`projections.service`)."""
    store, broker = Store(facts()), SameBroker()
    engine = ProjectionEngine(redis, prefix, service.rules)
    watchdog = Recovery(engine, broker.incarnation, lambda: store, grace_seconds=0)  # type: ignore[arg-type,return-value]
    finding = await watchdog.check()  # no epoch while the store holds a Trust: the read model is missing
    assert finding is not None and finding.trust_ids == (TRUST,)
    assert await watchdog.recover(finding)  # the lock, the restoring marker, a generation, the switch
    assert await watchdog.check() is None  # the epoch and the incarnation were recorded

    second = [pupil("P2"), *(locked("P2", subject, "BELOW") for subject in ("reading", "writing", "maths"))]
    store.held += second
    applied = {"metrics": 4, "statutory": 4, "attendance": 4}  # attendance takes the results too (attainment by band)
    assert (await engine.apply(second)).applied == applied[service.rules.name]
    assert await engine.trusts() == [TRUST]
    assert (await reconcile(engine, await live_keys(redis, engine.keyspace(TRUST)))).consistent
    compared = await rebuild_trust(engine, engine.keyspace(TRUST), store.facts(TRUST), switch=False)
    assert compared.differences_from_previous == []  # reconcile against the SQL store

    settings = service.settings(redis_prefix=prefix)
    readiness = Readiness(broker, settings, (service,), {"redis": redis})  # type: ignore[arg-type]
    assert (await readiness.checks())["redis"] == {"ok": True}


async def test_every_service_does_its_redis_work_under_its_own_user_and_is_refused_nothing(
    redis_target: RedisTarget,
) -> None:
    prefix = f"rights{uuid.uuid4().hex[:6]}"
    credentials = RedisCredentials.generate(prefix, suffix=f"-{prefix}")
    admin = redis_target.client(decode_responses=True)
    try:
        await credentials.install(admin)
        for process, hosted in PROCESSES.items():
            redis = RedisTarget(credentials.url(redis_target.url, process), redis_target.cluster).client()
            try:
                for service in hosted:
                    await run_projection(redis, prefix, service)
            finally:
                await redis.aclose()

        gateway_url = credentials.url(redis_target.url, "gateway")
        reader = RedisTarget(gateway_url, redis_target.cluster).client()
        settings = gateway_settings(gateway_url, prefix, redis_cluster=redis_target.cluster)
        try:
            async with in_process(settings, reader, whole=False) as gateway:  # the projections wrote the epoch
                assert (await gateway.get("/readyz", token=None)).status_code == 200
                assert (await gateway.get("/v1/schools")).json() == [{"school_id": "S1", "name": "Oak"}]
                report = await gateway.get("/v1/reports/attainment", measure="reading", by="school",
                                           academic_year=YEAR, period=PERIOD)
                assert report.json()["all_pupils"]["n"] == 2
                for path, params in (("/v1/dashboards/summative", {"academic_year": YEAR, "period": PERIOD}),
                                     ("/v1/dashboards/statutory", {"academic_year": YEAR}),
                                     ("/v1/reports/progress-from-statutory", {"academic_year": YEAR, "period": PERIOD}),
                                     ("/v1/reports/data-completion", {"academic_year": YEAR, "period": PERIOD})):
                    assert (await gateway.get(path, **params)).status_code == 200, path
        finally:
            await reader.aclose()

        assert await refusals(admin, {credentials.user(service) for service in REDIS_ACCESS}) == []
    finally:
        async for key in admin.scan_iter(match=f"{prefix}*"):
            await admin.delete(key)
        nodes = {"target_nodes": admin.get_nodes()} if isinstance(admin, RedisCluster) else {}  # ACLs are per node
        await admin.execute_command("ACL", "DELUSER", *(credentials.user(service) for service in REDIS_ACCESS), **nodes)
        await admin.aclose()
