"""Several metrics processes in one consumer group: they split the partitions, and the figures stay
exact through a rebalance.

Two `tidemark-metrics` processes share a group of their own (and a key prefix of their own, read by
a gateway of their own) on the platform's broker, Redis and ingest. While a Trust's results are
posted and locked, one process is killed (SIGKILL: no commit, no LeaveGroup); once the broker
notices, the other takes its partitions over and re-reads what the dead one applied but never
committed. Version guards make that redelivery a no-op, so the figures equal the hand-computed
ones, a from-scratch rebuild from the SQL store finds no counter to change, and reconcile agrees.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tidemark_metrics.domain.projection import METRICS
from tidemark_runtime.embedded import LOOPBACK, free_port
from tidemark_runtime.kafka import consumer_lag
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import reconcile
from tidemark_runtime.redis import connect_url
from tidemark_runtime.stack import CONSUMER_GROUPS, ServiceProcess, spawn_service, wait_healthy
from tidemark_runtime.testing import eventually
from tidemark_schemas.aggregates import Keyspace

pytestmark = pytest.mark.e2e

TRUST, YEAR = "trust-group", "2025/26"
SCHOOLS = ("K-S1", "K-S2")
PUPILS = {f"K-P{n:02}": SCHOOLS[n % 2] for n in range(24)}
BANDS = ("BELOW", "AT", "ABOVE")
ROUNDS: list[tuple[str, dict[str, str]]] = [
    # (period, reading band per pupil): each round enters and locks a period; from the second on, a
    # round also corrects the previous period's reading for a third of the pupils.
    (period, {pupil: BANDS[(n * (r + 2) + r) % 3] for n, pupil in enumerate(PUPILS)})
    for r, period in enumerate(("AUT1", "AUT2", "SPR1", "SPR2"))
]
TOPICS = CONSUMER_GROUPS["tidemark-metrics"]


def group_members(kafka: str, group: str) -> tuple[str, int]:
    """(state, number of members) of `group`, as the broker describes it. (Tansu 0.6.0 describes the
    members without their assignments, so which partitions each holds is not asked here.)"""

    async def describe() -> tuple[str, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            [response] = await admin.describe_consumer_groups([group])
        finally:
            await admin.close()
        [(_error, _group, state, _protocol_type, _protocol, members, *_rest)] = response.groups
        return state, len(members)

    return asyncio.run(describe())


def corrected(round_index: int) -> dict[str, str]:
    """The previous period's reading after this round's correction (a third of the pupils move up a band)."""
    period, bands = ROUNDS[round_index - 1]
    return {pupil: (BANDS[(BANDS.index(band) + 1) % 3] if n % 3 == 0 else band)
            for n, (pupil, band) in enumerate(bands.items())}


def final_reading() -> dict[str, dict[str, str]]:
    """period -> pupil -> the reading band locked last."""
    final = {period: dict(bands) for period, bands in ROUNDS}
    for index in range(1, len(ROUNDS)):
        final[ROUNDS[index - 1][0]] = corrected(index)
    return final


def expected_report(bands: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(pupils, at or above) per school: the reading report computed from the bands by hand."""
    return {school: (sum(1 for p in PUPILS if PUPILS[p] == school),
                     sum(1 for p, band in bands.items() if PUPILS[p] == school and band != "BELOW"))
            for school in SCHOOLS}


def entries(period: str, reading: dict[str, str]) -> list[dict]:
    return [dict(pupil_id=pupil, school_id=PUPILS[pupil], academic_year=YEAR, period=period, year_group="Y4",
                 subject=subject, band=reading[pupil] if subject == "reading" else "AT")
            for pupil in PUPILS for subject in ("reading", "writing", "maths")]


def post_round(ingest: httpx.Client, index: int) -> None:
    period, bands = ROUNDS[index]
    posted = [entries(period, bands)]
    if index:
        previous = ROUNDS[index - 1][0]
        posted.append([row for row in entries(previous, corrected(index)) if row["subject"] == "reading"])
    for rows in posted:
        assert ingest.post("/v1/assessments", json=rows).status_code == 200
        for school in SCHOOLS:
            lock = {"school_id": school, "academic_year": YEAR, "period": rows[0]["period"]}
            assert ingest.post("/v1/assessments/lock", json=lock).status_code == 200


def applied(member: ServiceProcess) -> int:
    return httpx.get(member.health_url.replace("/healthz", "/status")).json()["applied"]


def reading_report(gateway_url: str, token: str, period: str) -> dict[str, tuple[int, int]]:
    response = httpx.get(f"{gateway_url}/v1/reports/attainment", headers={"Authorization": f"Bearer {token}"},
                         params={"measure": "reading", "by": "school", "academic_year": YEAR, "period": period})
    assert response.status_code == 200, response.text
    return {row["group"]: (row["n"], row["at_or_above"]) for row in response.json()["rows"]}


def test_two_metrics_processes_split_the_partitions_and_stay_exact_when_one_is_killed(platform, tmp_path: Path):
    suffix = uuid.uuid4().hex[:6]
    group, prefix = f"tidemark-metrics-{suffix}", f"grp{suffix}"
    env = {**platform.env, "CONSUMER_GROUP": group, "REDIS_PREFIX": prefix}
    own = platform.users_for(prefix)
    members = [spawn_service("metrics", {**env, **own["metrics"]}, LOOPBACK, free_port(), tmp_path / f"metrics-{n}")
               for n in (1, 2)]
    gateway_port = free_port()
    gateway = spawn_service("gateway", {**env, **own["gateway"]}, LOOPBACK, gateway_port, tmp_path / "gateway")
    try:
        wait_healthy([*members, gateway])
        eventually(lambda: group_members(platform.kafka, group) == ("Stable", 2), timeout=60)

        with platform.ingest(TRUST) as ingest:
            ingest.post("/v1/schools", json=[{"school_id": s, "name": f"School {s}"} for s in SCHOOLS])
            ingest.post("/v1/pupils", json=[dict(pupil_id=p, school_id=s, year_group="Y4", sex="F", fsm6=False,
                                                 lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI",
                                                 left_on=None) for p, s in PUPILS.items()])
            post_round(ingest, 0)
            eventually(lambda: all(applied(member) > 0 for member in members), timeout=60)  # each has partitions
            post_round(ingest, 1)
            members[0].process.kill()  # mid-stream: whatever it applied since its last commit is re-read
            members[0].process.wait(10)
            for index in range(2, len(ROUNDS)):
                post_round(ingest, index)

        eventually(lambda: group_members(platform.kafka, group) == ("Stable", 1), timeout=60)  # the rebalance
        eventually(lambda: httpx.get(f"{platform.ingest_url}/status").json()["outbox_backlog"] == 0, timeout=60)
        eventually(lambda: asyncio.run(consumer_lag(platform.kafka, group, TOPICS)) == 0, timeout=90)

        gateway_url, token = f"http://{LOOPBACK}:{gateway_port}", platform.tokens[TRUST]["viewer"]
        for period, bands in final_reading().items():
            expected = expected_report(bands)
            assert reading_report(gateway_url, token, period) == expected, period
            assert reading_report(platform.gateway_url, token, period) == expected, period  # the one-process group

        async def reconciled() -> bool:
            redis = connect_url(platform.redis_url)
            try:
                return (await reconcile(ProjectionEngine(redis, prefix, METRICS), Keyspace(prefix, TRUST))).consistent
            finally:
                await redis.aclose()

        assert asyncio.run(reconciled())
        rebuilt = subprocess.run(
            [sys.executable, "-m", "tidemark_metrics.entrypoints.cli", "rebuild", "--trust-id", TRUST,
             "--grace-seconds", "0"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False,
        )
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert "0 counters differed from the previous generation" in rebuilt.stdout  # from scratch: the same
    finally:
        for process in (*members, gateway):
            process.stop()
