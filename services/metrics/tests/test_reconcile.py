"""Reconcile recomputes every counter from the per-pupil states and names any that differ."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from tidemark_metrics.domain.projection import METRICS
from tidemark_metrics.entrypoints.cli import main
from tidemark_metrics.service import ATTENDANCE
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import reconcile
from tidemark_runtime.testing import RedisTarget
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.events import AssessmentLocked, AttendanceMarked, PupilUpserted, SchoolUpserted

PUPIL = dict(
    trust_id="T", pupil_id="P1", school_id="S1", year_group="Y3", sex="F", fsm6=False, lac=False, plac=False,
    sen="N", eal=False, ethnicity="WBRI", left_on=None, version=1,
)


def locked(pupil_id: str, subject: str, band: str) -> AssessmentLocked:
    return AssessmentLocked(
        trust_id="T", pupil_id=pupil_id, school_id="S1", academic_year="2025/26", period="AUT1", year_group="Y3",
        subject=subject, entered_band=band, locked_band=band, version=2,
    )


async def test_counters_built_incrementally_reconcile_and_a_tampered_one_is_named(redis_target):
    redis = redis_target.client()
    prefix = f"rec{uuid.uuid4().hex[:6]}"
    store = ProjectionEngine(redis, prefix, METRICS)
    await store.apply([PupilUpserted(**PUPIL), PupilUpserted(**{**PUPIL, "pupil_id": "P2", "sex": "M"})])
    await store.apply([locked("P1", "reading", "AT"), locked("P2", "reading", "BELOW"), locked("P1", "maths", "ABOVE")])
    keys = Keyspace(prefix, "T")

    report = await reconcile(store, keys)
    assert (report.pupils, report.consistent) == (2, True)
    assert report.counters == 2 + 3 + 3 + 2  # roll, results, entered values, presence

    counter = keys.counters("2025/26", "AUT1", "reading", "S1")
    field = next(iter(await redis.hkeys(counter))).decode()
    await redis.hincrby(counter, field, 1)
    [mismatch] = (await reconcile(store, keys)).mismatches
    assert (mismatch.key, mismatch.field, mismatch.stored - mismatch.expected) == (counter, field, 1)
    await store.apply([SchoolUpserted(trust_id="T", school_id="S1", name="Oak", version=1)])
    assert await store.trusts() == ["T"]
    await redis.aclose()


def test_the_metrics_command_line_reconciles_each_projection_it_hosts_or_the_one_named(
    redis_target: RedisTarget, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tidemark-metrics reconcile` covers the attainment and the attendance projections;
    `--projection attendance` only the latter (each on its own keys)."""
    prefix = f"cli{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("REDIS_URL", redis_target.url)
    monkeypatch.setenv("REDIS_CLUSTER", "true" if redis_target.cluster else "false")
    monkeypatch.setenv("REDIS_PREFIX", prefix)
    monkeypatch.delenv("REPLAY_TOKEN", raising=False)  # the store comparison is tested end to end

    async def seed() -> None:
        redis = redis_target.client()
        mark = AttendanceMarked(trust_id="T", pupil_id="P1", school_id="S1", date=date(2025, 9, 8), session="AM",
                                code="/", year_group="Y3", version=1)
        await ProjectionEngine(redis, prefix, ATTENDANCE).apply([PupilUpserted(**PUPIL), mark])
        await ProjectionEngine(redis, prefix, METRICS).apply([PupilUpserted(**PUPIL), locked("P1", "reading", "AT")])
        await redis.aclose()

    asyncio.run(seed())
    assert main(["reconcile", "--trust-id", "T"]) == 0
    unchecked = "(no REPLAY_TOKEN: the counters are checked against the pupil states only, not against the SQL store)"
    assert capsys.readouterr().out.splitlines() == [
        "metrics:", unchecked,
        "T: 1 pupils, 4 counters against the pupil states: consistent",  # roll, reading, its entry, presence
        "attendance:", unchecked,
        "T: 1 pupils, 6 counters against the pupil states: consistent",  # a present session and a pupil in week, AUT1, YTD
    ]
    assert main(["reconcile", "--projection", "attendance"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "attendance:", unchecked, "T: 1 pupils, 6 counters against the pupil states: consistent"]
