"""A lock travels from the tracker API to the Trust dashboard, through the real broker and Redis.

Each test uses its own Trust, so tests are independent although they share one running platform.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from tidemark_metrics.domain.projection import METRICS
from tidemark_metrics.service import SERVICE as METRICS_SERVICE
from tidemark_runtime.kafka import dead_letter_record
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import reconcile
from tidemark_runtime.projections.service import ProjectionConsumer
from tidemark_runtime.kafka import make_broker
from tidemark_runtime.settings import PlatformSettings
from tidemark_runtime.testing import eventually
from tidemark_schemas import topics
from tidemark_schemas.aggregates import Keyspace, attendance_keyspace
from tidemark_schemas.attendance import AttendanceFigures
from tidemark_schemas.calendar import academic_year_of, monday_of, parse_academic_year
from tidemark_schemas.events import AttendanceMarked

pytestmark = pytest.mark.e2e

YEAR, PERIOD = "2025/26", "SPR1"


def pupil(pupil_id: str, school_id: str, sex: str = "F", fsm6: bool = False, year_group: str = "Y4") -> dict:
    return dict(
        pupil_id=pupil_id, school_id=school_id, year_group=year_group, sex=sex, fsm6=fsm6, lac=False, plac=False,
        sen="N", eal=False, ethnicity="WBRI", left_on=None,
    )


def results(pupil_id: str, school_id: str, reading: str, writing: str, maths: str, period: str = PERIOD,
            year_group: str = "Y4") -> list[dict]:
    return [
        dict(pupil_id=pupil_id, school_id=school_id, academic_year=YEAR, period=period, year_group=year_group,
             subject=subject, band=band)
        for subject, band in (("reading", reading), ("writing", writing), ("maths", maths))
    ]


def seed_two_schools(platform, trust: str, prefix: str) -> None:
    """School 1: 3 pupils (2 at+ in reading, 1 at+ in RWM); school 2: 2 pupils (1 at+ in both)."""
    s1, s2 = f"{prefix}-S1", f"{prefix}-S2"
    with platform.ingest(trust) as ingest:
        assert ingest.post("/v1/schools", json=[{"school_id": s1, "name": "Ash Primary"},
                                                {"school_id": s2, "name": "Birch Academy"}]).status_code == 200
        assert ingest.post("/v1/pupils", json=[pupil(f"{prefix}-P1", s1), pupil(f"{prefix}-P2", s1, "M"),
                                               pupil(f"{prefix}-P3", s1), pupil(f"{prefix}-P4", s2, "M", True),
                                               pupil(f"{prefix}-P5", s2)]).status_code == 200
        rows = (
            results(f"{prefix}-P1", s1, "ABOVE", "AT", "ABOVE")
            + results(f"{prefix}-P2", s1, "AT", "BELOW", "AT")
            + results(f"{prefix}-P3", s1, "BELOW", "BELOW", "AT")
            + results(f"{prefix}-P4", s2, "AT", "AT", "AT")
            + results(f"{prefix}-P5", s2, "BELOW", "AT", "BELOW")
        )
        assert ingest.post("/v1/assessments", json=rows).json() == {"received": 15, "changed": 15, "events": 15}
        for school in (s1, s2):
            locked = ingest.post("/v1/assessments/lock", json={"school_id": school, "academic_year": YEAR, "period": PERIOD})
            assert locked.status_code == 200


def report(platform, trust: str, measure: str, period: str = PERIOD, role: str = "viewer", **params) -> dict:
    with platform.gateway(trust, role) as gateway:
        response = gateway.get(
            "/v1/reports/attainment",
            params={"measure": measure, "by": "school", "academic_year": YEAR, "period": period, **params},
        )
        assert response.status_code == 200, response.text
        return response.json()


def figures(body: dict) -> dict[str, tuple[int, int]]:
    rows = {row["group"]: (row["n"], row["at_or_above"]) for row in body["rows"]}
    return {**rows, "all": (body["all_pupils"]["n"], body["all_pupils"]["at_or_above"])}


def test_locked_results_show_per_school_and_pooled_for_the_trust(any_platform):
    platform = any_platform
    seed_two_schools(platform, "trust-a", "A")
    reading = eventually(lambda: (b := report(platform, "trust-a", "reading"))["all_pupils"]["n"] == 5 and b)
    assert figures(reading) == {"A-S1": (3, 2), "A-S2": (2, 1), "all": (5, 3)}
    assert reading["all_pupils"]["pct"] == pytest.approx(60.0)
    assert {row["group"]: row["label"] for row in reading["rows"]} == {"A-S1": "Ash Primary", "A-S2": "Birch Academy"}
    rwm = report(platform, "trust-a", "rwm")
    assert figures(rwm) == {"A-S1": (3, 1), "A-S2": (2, 1), "all": (5, 2)}
    assert rwm["all_pupils"]["pct"] == pytest.approx(40.0)


def test_a_lock_reaches_an_open_live_page_then_the_report(any_platform):
    """A page follows /v1/live while a school locks: the change notice the metrics write carries
    reaches it, and the report then shows the lock."""
    platform, trust, school = any_platform, "trust-live", "LV-S1"
    with platform.ingest(trust) as ingest:
        ingest.post("/v1/schools", json=[{"school_id": school, "name": "Juniper"}])
        ingest.post("/v1/pupils", json=[pupil("LV-P1", school), pupil("LV-P2", school, "M")])
        ingest.post("/v1/assessments", json=results("LV-P1", school, "AT", "AT", "AT")
                    + results("LV-P2", school, "BELOW", "AT", "AT"))
    with platform.gateway(trust) as gateway, gateway.stream("GET", "/v1/live") as live:
        lines = live.iter_lines()
        next(line for line in lines if line.startswith(":") and "connected" in line)
        with platform.ingest(trust) as ingest:
            ingest.post("/v1/assessments/lock", json={"school_id": school, "academic_year": YEAR, "period": PERIOD})
        notice = next((
            notice for notice in live_changes(lines, timeout=30)
            if (notice["academic_year"], notice["period"]) == (YEAR, PERIOD) and "reading" in notice["measures"]
        ), None)
    assert notice is not None, "no change notice for the lock within 30 s"
    assert notice["schools"] == [school] and {"reading", "writing", "maths", "rwm"} <= set(notice["measures"])
    assert figures(eventually(lambda: (b := report(platform, trust, "reading"))["all_pupils"]["n"] == 2 and b)) == {
        school: (2, 1), "all": (2, 1)}


def live_changes(lines: Iterator[str], timeout: float) -> Iterator[dict]:
    """The data of each `change` event of an SSE stream (comments and heartbeats skipped), for
    `timeout` seconds (heartbeats keep the stream talking)."""
    deadline = time.monotonic() + timeout
    event = None
    for line in lines:
        if time.monotonic() > deadline:
            return
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "change":
            yield json.loads(line.removeprefix("data: "))
        elif line == "":
            event = None


def test_summative_dashboard_shows_four_measures_with_change_since_previous_period(platform):
    with platform.ingest("trust-b") as ingest:
        ingest.post("/v1/schools", json=[{"school_id": "B-S1", "name": "Cedar"}])
        ingest.post("/v1/pupils", json=[pupil("B-P1", "B-S1"), pupil("B-P2", "B-S1")])
        ingest.post("/v1/assessments", json=results("B-P1", "B-S1", "AT", "AT", "AT", "AUT2")
                    + results("B-P2", "B-S1", "BELOW", "AT", "BELOW", "AUT2")
                    + results("B-P1", "B-S1", "AT", "AT", "AT") + results("B-P2", "B-S1", "AT", "AT", "BELOW"))
        for period in ("AUT2", PERIOD):
            ingest.post("/v1/assessments/lock", json={"school_id": "B-S1", "academic_year": YEAR, "period": period})

    def dashboard() -> dict | None:
        with platform.gateway("trust-b") as gateway:
            body = gateway.get("/v1/dashboards/summative", params={"academic_year": YEAR, "period": PERIOD}).json()
        tiles = {tile["measure"]: tile for tile in body["primary_subjects"]}
        return tiles if tiles["reading"]["n"] == 2 and tiles["reading"]["previous_pct"] is not None else None

    tiles = eventually(dashboard)
    assert [tiles[m]["pct"] for m in ("reading", "writing", "maths", "rwm")] == [100.0, 100.0, 50.0, 50.0]
    assert tiles["reading"]["change"] == pytest.approx(50.0)
    assert tiles["writing"]["display"] == "~ 0"
    assert tiles["maths"]["change"] == pytest.approx(0.0)


def test_drafts_do_not_count_and_unlock_withdraws_and_relock_corrects(platform):
    with platform.ingest("trust-c") as ingest:
        ingest.post("/v1/schools", json=[{"school_id": "C-S1", "name": "Elm"}])
        ingest.post("/v1/pupils", json=[pupil("C-P1", "C-S1"), pupil("C-P2", "C-S1")])
        ingest.post("/v1/assessments", json=results("C-P1", "C-S1", "AT", "AT", "AT") + results("C-P2", "C-S1", "BELOW", "AT", "AT"))
        assert report(platform, "trust-c", "reading")["all_pupils"]["n"] == 0  # drafts only

        scope = {"school_id": "C-S1", "academic_year": YEAR, "period": PERIOD}
        ingest.post("/v1/assessments/lock", json=scope)
        eventually(lambda: figures(report(platform, "trust-c", "reading"))["all"] == (2, 1))

        ingest.post("/v1/assessments", json=[results("C-P2", "C-S1", "ABOVE", "AT", "AT")[0]])
        assert ingest.post("/v1/assessments/lock", json={**scope, "subject": "reading"}).json()["changed"] == 1
        eventually(lambda: figures(report(platform, "trust-c", "reading"))["all"] == (2, 2))

        assert ingest.post("/v1/assessments/unlock", json={**scope, "subject": "maths"}).json()["changed"] == 2
        eventually(lambda: figures(report(platform, "trust-c", "rwm"))["all"] == (0, 0))
        assert figures(report(platform, "trust-c", "reading"))["all"] == (2, 2)


def test_a_batch_with_a_bad_row_is_rejected_whole_and_a_resent_batch_stores_nothing_new(platform):
    with platform.ingest("trust-d") as ingest:
        ingest.post("/v1/schools", json=[{"school_id": "D-S1", "name": "Fir"}])
        ingest.post("/v1/pupils", json=[pupil("D-P1", "D-S1")])
        good = results("D-P1", "D-S1", "AT", "AT", "AT")
        bad = {**good[1], "band": "SECURE"}
        refused = ingest.post("/v1/assessments", json=[good[0], bad, {**good[2], "pupil_id": "D-NOBODY"}])
        assert refused.status_code == 422
        errors = refused.json()["errors"]
        assert [(e["row"], e["field"]) for e in errors] == [(1, "band"), (2, "pupil_id")]
        assert "BELOW" in next(e["reason"] for e in errors if e["field"] == "band")

        unknown = ingest.post("/v1/assessments", json=[good[0], {**good[2], "pupil_id": "D-NOBODY"}])
        assert unknown.status_code == 422
        assert unknown.json()["errors"] == [
            {"row": 1, "field": "pupil_id", "reason": "unknown pupil for this Trust: post it to /v1/pupils first",
             "value": "D-NOBODY"}
        ]
        scope = {"school_id": "D-S1", "academic_year": YEAR, "period": PERIOD}
        assert ingest.post("/v1/assessments/lock", json=scope).json()["received"] == 0  # nothing was stored

        assert ingest.post("/v1/assessments", json=good).json()["changed"] == 3
        assert ingest.post("/v1/assessments", json=good).json() == {"received": 3, "changed": 0, "events": 0}
        assert ingest.post("/v1/assessments/lock", json={**scope, "school_id": "A-S1"}).status_code == 422


def test_no_trust_reads_another_trusts_schools(platform):
    seed_two_schools(platform, "trust-e", "E")
    eventually(lambda: report(platform, "trust-e", "reading")["all_pupils"]["n"] == 5)
    other = report(platform, "trust-empty", "reading")  # a Trust nothing is ever posted to
    assert other["rows"] == [] and other["all_pupils"]["n"] == 0
    with platform.gateway("trust-e", "school_viewer") as gateway:
        visible = gateway.get("/v1/reports/attainment", params={"measure": "reading", "by": "school",
                                                                 "academic_year": YEAR, "period": PERIOD}).json()
        assert figures(visible) == {"E-S1": (3, 2), "all": (3, 2)}  # pooled over its one school only
        forbidden = gateway.get("/v1/reports/attainment", params={"measure": "reading", "by": "school",
                                                                   "academic_year": YEAR, "period": PERIOD, "school": "E-S2"})
        assert forbidden.status_code == 403


def test_a_consumer_that_dies_after_applying_but_before_committing_counts_nothing_twice(platform):
    """Apply a batch with the real metrics code under the metrics group, die without committing,
    then let a fresh metrics process re-read the same records: the figures must not double."""
    trust, school = "trust-f", "F-S1"
    settings = PlatformSettings(kafka_bootstrap_servers=platform.kafka)

    async def apply_without_committing() -> int:
        consumer = AIOKafkaConsumer(
            topics.SCHOOLS, topics.PUPILS, topics.ASSESSMENTS, bootstrap_servers=platform.kafka,
            group_id="tidemark-metrics", enable_auto_commit=False, auto_offset_reset="earliest",
        )
        broker = make_broker(settings, "e2e-crashing-metrics")
        redis = Redis.from_url(platform.redis_url)
        await consumer.start()
        await broker.connect()
        applied = 0
        try:
            worker = ProjectionConsumer(
                ProjectionEngine(redis, platform.redis_prefix, METRICS), METRICS_SERVICE.publication,
                publish=lambda topic, key, message: broker.publish(message, topic, key=key),
                dead_letter=lambda record, rejection: dead_letter_record(broker, record, rejection, "e2e"),
            )
            for _ in range(100):
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    applied += (await worker.handle(records)).applied
                if applied >= 1 + 2 + 6 + 6 and not batches:
                    break
        finally:
            await consumer.stop()  # no commit: as if the process was killed here
            await broker.stop()
            await redis.aclose()
        return applied

    def crash_while_metrics_is_down() -> None:
        with platform.ingest(trust) as ingest:
            ingest.post("/v1/schools", json=[{"school_id": school, "name": "Hazel"}])
            ingest.post("/v1/pupils", json=[pupil("F-P1", school), pupil("F-P2", school, "M")])
            ingest.post("/v1/assessments", json=results("F-P1", school, "AT", "AT", "AT") + results("F-P2", school, "BELOW", "AT", "ABOVE"))
            ingest.post("/v1/assessments/lock", json={"school_id": school, "academic_year": YEAR, "period": PERIOD})
        assert asyncio.run(apply_without_committing()) >= 9
        assert figures(report(platform, trust, "reading"))[school] == (2, 1)  # applied, never committed

    platform.restart("metrics", before_start=crash_while_metrics_is_down)
    probe = {"school_id": school, "academic_year": YEAR, "period": "SUM1"}
    with platform.ingest(trust) as ingest:  # a later lock proves the new process has caught up
        ingest.post("/v1/assessments", json=results("F-P1", school, "AT", "AT", "AT", "SUM1"))
        ingest.post("/v1/assessments/lock", json=probe)
    eventually(lambda: figures(report(platform, trust, "reading", period="SUM1"))["all"] == (1, 1), timeout=60)
    assert figures(report(platform, trust, "reading")) == {school: (2, 1), "all": (2, 1)}
    assert figures(report(platform, trust, "rwm")) == {school: (2, 1), "all": (2, 1)}
    assert figures(report(platform, trust, "maths")) == {school: (2, 2), "all": (2, 2)}

    async def reconciled() -> bool:
        redis = Redis.from_url(platform.redis_url)
        try:
            engine = ProjectionEngine(redis, platform.redis_prefix, METRICS)
            return (await reconcile(engine, Keyspace(platform.redis_prefix, trust))).consistent
        finally:
            await redis.aclose()

    assert asyncio.run(reconciled())


def test_a_malformed_event_is_dead_lettered_with_the_field_and_the_reason(platform):
    bad_event = {
        "event_type": "assessment-locked", "trust_id": "trust-l", "pupil_id": "L-X", "school_id": "L-S1",
        "academic_year": YEAR, "period": PERIOD, "year_group": "Y4", "subject": "reading",
        "entered_band": "AT", "locked_band": "SECURE", "version": 1,
    }

    async def publish_and_read_dead_letters() -> list:
        producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
        await producer.start()
        await producer.send_and_wait(topics.ASSESSMENTS, json.dumps(bad_event).encode(), key=b"L-X")
        await producer.stop()
        consumer = AIOKafkaConsumer(topics.dead_letter(topics.ASSESSMENTS), bootstrap_servers=platform.kafka,
                                    group_id=None, auto_offset_reset="earliest")
        await consumer.start()
        found = []
        try:
            for _ in range(120):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found += [r for r in records if r.key == b"L-X"]
                if {dict(r.headers).get("x-rejected-by") for r in found} >= {b"tidemark-metrics"}:
                    break
        finally:
            await consumer.stop()
        return found

    dead = asyncio.run(publish_and_read_dead_letters())
    headers = dict(next(r for r in dead if dict(r.headers)["x-rejected-by"] == b"tidemark-metrics").headers)
    assert headers["x-error-field"] == b"assessment-locked.locked_band"
    assert b"'BELOW', 'AT' or 'ABOVE'" in headers["x-error-reason"]
    assert headers["x-origin-topic"] == topics.ASSESSMENTS.encode()


def test_rebuild_from_the_sql_store_agrees_with_the_live_figures_and_later_locks_reach_it(platform):
    """`tidemark-metrics rebuild` on a live Trust: same figures, consistent, readers switched,
    and the running consumer keeps the new generation current."""
    trust = "trust-g"
    seed_two_schools(platform, trust, "G")
    eventually(lambda: report(platform, trust, "rwm")["all_pupils"]["n"] == 5)
    before = {measure: figures(report(platform, trust, measure)) for measure in ("reading", "rwm", "maths")}

    rebuilt = subprocess.run(
        [sys.executable, "-m", "tidemark_metrics.entrypoints.cli", "rebuild", "--trust-id", trust, "--grace-seconds", "0"],
        env={**os.environ, **platform.env_of("metrics"), "REDIS_PREFIX": platform.redis_prefix},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "0 counters differed from the previous generation" in rebuilt.stdout
    assert {measure: figures(report(platform, trust, measure)) for measure in before} == before

    with platform.ingest(trust) as ingest:  # a correction after the switch lands in the new generation
        ingest.post("/v1/assessments", json=[results("G-P3", "G-S1", "ABOVE", "BELOW", "AT")[0]])
        ingest.post("/v1/assessments/lock", json={"school_id": "G-S1", "academic_year": YEAR, "period": PERIOD})
    eventually(lambda: figures(report(platform, trust, "reading"))["all"] == (5, 4))

    def reconciled() -> subprocess.CompletedProcess[str] | None:
        """Every projection of the Trust consistent (the attendance projection, which also counts the
        results, applies the correction in its own time)."""
        checked = subprocess.run(
            [sys.executable, "-m", "tidemark_metrics.entrypoints.cli", "reconcile", "--trust-id", trust],
            env={**os.environ, **platform.env_of("metrics"), "REDIS_PREFIX": platform.redis_prefix},
            capture_output=True, text=True, timeout=120, check=False,
        )
        return checked if checked.returncode == 0 else None

    checked = eventually(reconciled, timeout=60.0, interval=1.0)
    assert "consistent" in checked.stdout, checked.stdout + checked.stderr


def statutory(pupil_id: str, school_id: str, year: str, assessment: str, component: str, **value) -> dict:
    return dict(pupil_id=pupil_id, school_id=school_id, academic_year=year, assessment=assessment,
                component=component, **value)


def test_statutory_results_become_the_ks2_widget_and_locks_move_progress_categories(any_platform):
    """KS2 results and KS1 prior attainment through ingest; the statutory service's measures and
    progress categories through the gateway; a category change on attainment.progress.v1."""
    platform = any_platform
    trust, school = "trust-h", "H-S1"
    ks2 = [
        *(statutory(p, school, YEAR, "ks2", c, **v) for p, c, v in (
            ("H-P1", "reading_test", {"scaled_score": 110}), ("H-P1", "maths_test", {"scaled_score": 112}),
            ("H-P1", "writing_ta", {"code": "GDS"}), ("H-P2", "reading_test", {"scaled_score": 101}),
            ("H-P2", "maths_test", {"scaled_score": 99}), ("H-P2", "writing_ta", {"code": "EXS"}),
            ("H-P3", "reading_test", {"code": "B"}), ("H-P3", "reading_ta", {"code": "PK5"}),
            ("H-P3", "writing_ta", {"code": "WTS"}),
        )),
    ]
    ks1 = [statutory("H-P4", school, "2023/24", "ks1", c, code="EXS") for c in ("reading_ta", "writing_ta", "maths_ta")]
    with platform.ingest(trust) as ingest:
        ingest.post("/v1/schools", json=[{"school_id": school, "name": "Holly"}])
        ingest.post("/v1/pupils", json=[pupil(p, school, year_group="Y6") for p in ("H-P1", "H-P2", "H-P3")]
                    + [pupil("H-P4", school, year_group="Y4")])
        refused = ingest.post("/v1/statutory", json=[statutory("H-P1", school, YEAR, "ks2", "maths_test", scaled_score=130)])
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "scaled_score"
        assert ingest.post("/v1/statutory", json=ks2 + ks1).json()["changed"] == 12
        for year in (YEAR, "2023/24"):
            ingest.post("/v1/statutory/lock", json={"school_id": school, "academic_year": year})
        ingest.post("/v1/assessments", json=results("H-P4", school, "AT", "AT", "AT"))
        ingest.post("/v1/assessments/lock", json={"school_id": school, "academic_year": YEAR, "period": PERIOD})

    def widget() -> dict | None:
        with platform.gateway(trust) as gateway:
            body = gateway.get("/v1/dashboards/statutory", params={"academic_year": YEAR}).json()
        tiles = {tile["measure"]: tile["all_pupils"]["figures"] for tile in body["widgets"]["ks2"]}
        return tiles if tiles["ks2.writing"]["eligible"] == 3 else None

    tiles = eventually(widget)
    assert tiles["ks2.reading"] == {"eligible": 3, "exs_plus_pct": pytest.approx(200 / 3), "gds_pct": pytest.approx(100 / 3)}
    assert tiles["ks2.maths"]["eligible"] == 2  # H-P3 has neither a maths test nor a maths TA
    assert tiles["ks2.rwm"] == {"eligible": 2, "exs_plus_pct": 50.0, "gds_pct": 50.0}
    assert tiles["ks2.reading_ss"] == {"pupils": 2, "average": 105.5}

    def progress(category: str) -> dict | None:
        with platform.gateway(trust) as gateway:
            body = gateway.get("/v1/reports/progress-from-statutory", params={
                "academic_year": YEAR, "period": PERIOD, "category": category, "pupils": "true"}).json()
        return body if body["pupils"] else None

    on_track = eventually(lambda: progress("on_track_at"))
    assert [p["pupil_id"] for p in on_track["pupils"]] == ["H-P4"]

    async def category_changes() -> list[dict]:
        consumer = AIOKafkaConsumer(topics.ATTAINMENT_PROGRESS, bootstrap_servers=platform.kafka,
                                    auto_offset_reset="earliest", group_id=f"e2e-progress-{trust}")
        await consumer.start()
        found: list[dict] = []
        try:
            for _ in range(40):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found += [json.loads(r.value) for r in records if json.loads(r.value)["trust_id"] == trust]
                if any(change["current"] == "not_on_track_below" for change in found):
                    break
        finally:
            await consumer.stop()
        return found

    with platform.ingest(trust) as ingest:  # a correction: maths BELOW makes the pupil not on track
        ingest.post("/v1/assessments", json=[results("H-P4", school, "AT", "AT", "BELOW")[2]])
        ingest.post("/v1/assessments/lock", json={"school_id": school, "academic_year": YEAR, "period": PERIOD})
    assert [p["pupil_id"] for p in eventually(lambda: progress("not_on_track_below"))["pupils"]] == ["H-P4"]
    changes = asyncio.run(category_changes())
    assert [(c["pupil_id"], c["previous"], c["current"]) for c in changes] == [
        ("H-P4", None, "on_track_at"), ("H-P4", "on_track_at", "not_on_track_below")]

    env = {**os.environ, **platform.env_of("statutory"), "REDIS_PREFIX": platform.redis_prefix}
    rebuilt = subprocess.run([sys.executable, "-m", "tidemark_statutory.entrypoints.cli", "rebuild", "--trust-id", trust,
                              "--grace-seconds", "0"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert rebuilt.returncode == 0 and "0 counters differed" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    checked = subprocess.run([sys.executable, "-m", "tidemark_statutory.entrypoints.cli", "reconcile", "--trust-id",
                              trust], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0 and "consistent" in checked.stdout, checked.stdout + checked.stderr
    assert widget() == tiles  # the rebuilt generation serves the same figures


def test_every_summative_report_serves_the_hand_made_trust(platform):
    """The two-school Trust of `seed_two_schools` through every report, with real figures."""
    trust = "trust-i"
    seed_two_schools(platform, trust, "I")
    eventually(lambda: report(platform, trust, "rwm")["all_pupils"]["n"] == 5)

    def get(path: str, **params) -> dict:
        with platform.gateway(trust) as gateway:
            response = gateway.get(path, params={"academic_year": YEAR, **params})
            assert response.status_code == 200, response.text
            return response.json()

    overview = get("/v1/reports/attainment-overview", period=PERIOD, measure="reading", by="sex")
    assert [(r["label"], r["below"], r["at"], r["above"]) for r in overview["rows"]] == [
        ("Female", 2, 0, 1), ("Male", 0, 2, 0)]
    trend = get("/v1/reports/progress-over-time", by="school", measure="rwm")
    spring = next(i for i, p in enumerate(trend["periods"]) if (p["academic_year"], p["period"]) == (YEAR, PERIOD))
    assert [(r["group"], r["series"][spring]["n"], r["series"][spring]["at_or_above"]) for r in trend["rows"]] == [
        ("I-S1", 3, 1), ("I-S2", 2, 1)]
    gap = get("/v1/reports/gaps", gap="disadvantaged", subject="reading")["series"][spring]
    assert (gap["first"]["n"], gap["second"]["n"], gap["gap"]) == (4, 1, pytest.approx(50.0 - 100.0))
    pupils = get("/v1/reports/pupil-overview", period=PERIOD, by="school")
    assert [(r["group"], r["pupils"]) for r in pupils["rows"]] == [("I-S1", 3), ("I-S2", 2)]
    completion = get("/v1/reports/data-completion", period=PERIOD)
    reading = [(r["school_id"], r["on_roll"], r["entered"], r["locked"]) for r in completion["rows"]
               if r["subject"] == "reading"]
    assert reading == [("I-S1", 3, 3, 3), ("I-S2", 2, 2, 2)]
    filtered = get("/v1/reports/attainment", period=PERIOD, measure="reading", by="school", sex="F", school="I-S1")
    assert figures(filtered) == {"I-S1": (2, 1), "all": (2, 1)}


def test_statutory_and_summative_locks_become_the_progress_categories_in_the_products_order(platform):
    """Prior attainment from KS1 (Years 3-6) and the EYFS profile (Years 1-2) against this period's
    combined RWM band, through every service, to the categories the gateway serves."""
    trust, school = "trust-j", "J-S1"
    ks1 = {"J-P1": "EXS", "J-P2": "WTS", "J-P3": "GDS", "J-P6": "WTS"}  # expected, below, greater depth, below
    current = {"J-P1": ("ABOVE",) * 3, "J-P2": ("AT", "AT", "ABOVE"), "J-P3": ("AT",) * 3, "J-P4": ("ABOVE",) * 3,
               "J-P5": ("AT",) * 3, "J-P6": ("ABOVE",) * 3}
    with platform.ingest(trust) as ingest:
        ingest.post("/v1/schools", json=[{"school_id": school, "name": "Juniper"}])
        ingest.post("/v1/pupils", json=[pupil(p, school, year_group="Y1" if p == "J-P4" else "Y4") for p in current])
        statutory_rows = [statutory(p, school, "2023/24", "ks1", f"{s}_ta", code=code)
                          for p, code in ks1.items() for s in ("reading", "writing", "maths")]
        statutory_rows += [statutory("J-P4", school, "2024/25", "eyfs", f"E{n:02d}", code="2") for n in range(1, 18)]
        assert ingest.post("/v1/statutory", json=statutory_rows).json()["changed"] == 12 + 17
        for year in ("2023/24", "2024/25"):
            ingest.post("/v1/statutory/lock", json={"school_id": school, "academic_year": year})
        ingest.post("/v1/assessments", json=[row for p, bands in current.items()
                                             for row in results(p, school, *bands, year_group="Y1" if p == "J-P4" else "Y4")])
        ingest.post("/v1/assessments/lock", json={"school_id": school, "academic_year": YEAR, "period": PERIOD})

    def served() -> dict | None:
        with platform.gateway(trust) as gateway:
            body = gateway.get("/v1/reports/progress-from-statutory", params={
                "academic_year": YEAR, "period": PERIOD, "category": "on_track_above", "pupils": "true"}).json()
            every = gateway.get("/v1/reports/progress-from-statutory",
                                params={"academic_year": YEAR, "period": PERIOD}).json()
        return (body, every) if every["all_pupils"]["categorised"] == 5 and len(body["pupils"]) == 2 else None

    on_track_above, every = eventually(served)
    assert [(c["category"], c["label"], c["pupils"]) for c in every["all_pupils"]["categories"]] == [
        ("not_on_track_below", "Not on track and BELOW standard", 0),
        ("not_on_track_at", "Not on track but AT standard", 1),  # J-P3: greater depth, now AT
        ("on_track_below", "On track but BELOW standard", 0),
        ("on_track_at", "On track and AT standard", 0),
        ("on_track_above", "On track and ABOVE standard", 2),  # J-P1 (KS1 expected), J-P4 (GLD): not Accelerated
        ("accelerated_at", "Accelerated track and AT standard", 1),  # J-P2: below at KS1, now AT
        ("accelerated_above", "Accelerated track and ABOVE standard", 1),  # J-P6: below at KS1, now ABOVE
        ("not_categorised", "Not categorised", 1),  # J-P5: no prior statutory result
    ]
    assert [(p["pupil_id"], p["year_group"]) for p in on_track_above["pupils"]] == [("J-P4", "Y1"), ("J-P1", "Y4")]


def test_the_early_years_attainment_overview_counts_children_above_in_gld_and_all_goals(platform):
    """The lowest band across the goals decides: ABOVE in all 12 (17) goals is ABOVE; GLD % unchanged."""
    trust, school = "trust-k", "K-S1"
    goals = [f"E{n:02d}" for n in range(1, 18)]
    bands = {
        "K-P1": {g: "ABOVE" for g in goals},
        "K-P2": {g: "ABOVE" if g <= "E12" else "AT" for g in goals},  # GLD ABOVE, all goals AT
        "K-P3": {g: "AT" for g in goals},
        "K-P4": {g: "BELOW" if g == "E05" else "ABOVE" for g in goals},
    }
    with platform.ingest(trust) as ingest:
        ingest.post("/v1/schools", json=[{"school_id": school, "name": "Kestrel"}])
        ingest.post("/v1/pupils", json=[pupil(p, school, year_group="R") for p in bands])
        rows = [dict(pupil_id=p, school_id=school, academic_year=YEAR, period=PERIOD, year_group="R", subject=g, band=b)
                for p, by_goal in bands.items() for g, b in by_goal.items()]
        assert ingest.post("/v1/assessments", json=rows).json()["changed"] == 4 * 17
        ingest.post("/v1/assessments/lock", json={"school_id": school, "academic_year": YEAR, "period": PERIOD})

    def overview(measure: str) -> dict:
        with platform.gateway(trust) as gateway:
            return gateway.get("/v1/reports/attainment-overview", params={
                "measure": measure, "by": "school", "academic_year": YEAR, "period": PERIOD}).json()["all_pupils"]

    gld = eventually(lambda: (o := overview("gld"))["n"] == 4 and o)
    assert (gld["below"], gld["at"], gld["above"]) == (1, 1, 2)
    all_goals = overview("all_goals")
    assert (all_goals["n"], all_goals["below"], all_goals["at"], all_goals["above"]) == (4, 1, 2, 1)
    assert report(platform, trust, "gld")["all_pupils"]["pct"] == pytest.approx(75.0)  # GLD %: AT or ABOVE


def test_a_school_registered_through_ingest_is_listed_at_once_and_announced_to_live_pages(platform):
    """Before any pupil or result: in /v1/schools, in the By School rows, and as a live notice that
    tells pages to refresh their school filter."""
    trust, school = "trust-m", "M-S1"
    with platform.ingest(trust) as ingest:
        assert ingest.post("/v1/schools", json=[{"school_id": school, "name": "Maple"}]).json()["changed"] == 1

    with platform.gateway(trust) as gateway:
        schools = eventually(lambda: gateway.get("/v1/schools").json())
        rows = report(platform, trust, "reading")["rows"]
        statutory_rows = gateway.get("/v1/reports/statutory", params={"measure": "ks2.rwm", "academic_year": YEAR}).json()
        with gateway.stream("GET", "/v1/live", headers={"Last-Event-ID": "0"}) as live:
            data = next(json.loads(line[len("data: "):]) for line in live.iter_lines() if line.startswith("data: "))
    assert schools == [{"school_id": school, "name": "Maple"}]
    assert [(r["group"], r["label"], r["n"], r["pct"]) for r in rows] == [(school, "Maple", 0, None)]
    assert [(r["group"], r["figures"]["eligible"]) for r in statutory_rows["rows"]] == [(school, 0)]
    assert data == {"academic_year": "", "period": "", "measures": ["schools"], "schools": [school]}


def test_register_marks_reach_the_attendance_counters_of_the_running_metrics_process(platform):
    """Marks published on `tracker.attendance.v1` (as ingest's relay will publish them) are applied by
    the metrics process's attendance consumer group; a correction moves the session; reconcile
    through the command line finds every counter consistent."""
    trust, school, monday = "trust-attendance", "AT-S1", date(2025, 9, 8)
    with platform.ingest(trust) as ingest:
        assert ingest.post("/v1/schools", json=[{"school_id": school, "name": "Alder"}]).status_code == 200
        assert ingest.post("/v1/pupils", json=[pupil("AT-P1", school, year_group="Y3"),
                                               pupil("AT-P2", school, "M", year_group="Y3")]).status_code == 200

    def marked(pupil_id: str, session: str, code: str, version: int = 1) -> AttendanceMarked:
        return AttendanceMarked(trust_id=trust, pupil_id=pupil_id, school_id=school, date=monday, session=session,
                                code=code, year_group="Y3", version=version)

    async def publish(marks: list[AttendanceMarked]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
        await producer.start()
        for m in marks:
            await producer.send_and_wait(topics.ATTENDANCE, m.model_dump_json().encode(), key=m.pupil_id.encode())
        await producer.stop()

    keys = attendance_keyspace(platform.redis_prefix, trust)
    redis = SyncRedis.from_url(platform.redis_url, decode_responses=True)

    def summed(key: str) -> dict[str, int]:
        """A counter hash summed over its cells, by label."""
        found: Counter = Counter()
        for field, value in redis.hgetall(key).items():
            found[field.rsplit("|", 1)[1]] += int(value)
        return dict(found)

    def year_to_date() -> tuple:
        sessions = summed(keys.attendance_sessions(YEAR, "YTD", school))
        figures = AttendanceFigures.of(sessions, summed(keys.attendance_pupils(YEAR, "YTD", school)))
        return sessions, figures.pupils, figures.possible_sessions, figures.absence_pct, figures.persistent_absentees

    try:
        asyncio.run(publish([marked("AT-P1", "AM", "/"), marked("AT-P1", "PM", "N"), marked("AT-P2", "AM", "/"),
                             marked("AT-P2", "PM", "\\")]))
        eventually(lambda: year_to_date() == ({"/\\": 3, "N": 1}, 2, 4, 25.0, 1), timeout=60)
        asyncio.run(publish([marked("AT-P1", "PM", "I", version=2)]))
        eventually(lambda: year_to_date() == ({"/\\": 3, "I": 1}, 2, 4, 25.0, 1))
        assert redis.exists(keys.attendance_sessions(YEAR, "AUT1", school), keys.attendance_sessions(YEAR, "2025-09-08", school)) == 2
    finally:
        redis.close()

    checked = subprocess.run(
        [sys.executable, "-m", "tidemark_metrics.entrypoints.cli", "reconcile", "--projection", "attendance",
         "--trust-id", trust],
        env={**os.environ, **platform.env_of("metrics"), "REDIS_PREFIX": platform.redis_prefix},
        capture_output=True, text=True, timeout=120, check=False,
    )
    # The counters agree with the pupil states. The marks went straight onto the topic, never through
    # ingest, so the SQL store holds none of them: reconcile must say the store disagrees.
    assert f"{trust}: 2 pupils, 24 counters against the pupil states: consistent" in checked.stdout, checked.stdout
    # (its facts: the two pupils; the attendance projection is not rebuilt from schools)
    assert checked.returncode == 1 and f"{trust}: 2 facts of the SQL store: 24 counters differ" in checked.stdout


def test_a_days_register_and_a_correction_through_ingest_reach_the_attendance_report(platform):
    """Issue 12's acceptance: a school's register for a day posted to ingest, then a correction,
    reach the gateway's attendance report (through the outbox, the broker and the metrics process's
    attendance projection) with the figures of this hand-computed example.

    Ash, Monday of the first school week of this academic year: Pia (Year 3) present both sessions;
    Sam (Year 3, disadvantaged) present in the morning, N (no reason yet) in the afternoon; Rae
    (Reception) X twice (not of compulsory school age, not counted). Years 1-6: 2 pupils, 4 possible
    sessions, 1 absence: 25% absence, all unauthorised; Sam missed 1 of his 2 (50%): persistent and
    severe. The school then corrects Sam's afternoon to M (medical): authorised."""
    trust, school = "trust-registers", "RG-S1"
    monday = monday_of(date(parse_academic_year(academic_year_of(date.today())), 9, 7))
    year = academic_year_of(monday)
    with platform.ingest(trust) as ingest:
        assert ingest.post("/v1/schools", json=[{"school_id": school, "name": "Ash"}]).status_code == 200
        assert ingest.post("/v1/pupils", json=[pupil("RG-P1", school, year_group="Y3"),
                                               pupil("RG-P2", school, "M", fsm6=True, year_group="Y3"),
                                               pupil("RG-P3", school, year_group="R")]).status_code == 200

        def register(*marks: tuple[str, str, str]) -> dict:
            rows = [{"pupil_id": p, "school_id": school, "date": monday.isoformat(), "session": s, "code": c}
                    for p, s, c in marks]
            answer = ingest.post("/v1/attendance", json=rows)
            assert answer.status_code == 200, answer.text
            return answer.json()

        assert register(("RG-P1", "AM", "/"), ("RG-P1", "PM", "\\"), ("RG-P2", "AM", "/"), ("RG-P2", "PM", "N"),
                        ("RG-P3", "AM", "X"), ("RG-P3", "PM", "X"))["changed"] == 6

        def figures(window: dict) -> tuple:
            with platform.gateway(trust) as gateway:
                everyone = gateway.get("/v1/reports/attendance", params={"academic_year": year, **window}).json()["all_pupils"]
            return (everyone["pupils"], everyone["possible_sessions"], everyone["absence_pct"],
                    everyone["authorised_absence_pct"], everyone["unauthorised_absence_pct"],
                    everyone["persistent_absentees"], everyone["severe_absentees"])

        eventually(lambda: figures({}) == (2, 4, 25.0, 0.0, 25.0, 1, 1), timeout=60)
        assert figures({"week": monday.isoformat()}) == (2, 4, 25.0, 0.0, 25.0, 1, 1)
        assert register(("RG-P2", "PM", "M"))["changed"] == 1
        assert register(("RG-P2", "PM", "M"))["changed"] == 0
        eventually(lambda: figures({}) == (2, 4, 25.0, 25.0, 0.0, 1, 1))
    with platform.gateway(trust) as gateway:
        codes = gateway.get("/v1/reports/attendance-codes", params={"academic_year": year, "include_reception": True}).json()
    assert {c["code"]: c["sessions"] for c in codes["all_pupils"]["codes"]} == {"/\\": 3, "M": 1, "X": 2}

    # The marks are in the SQL store's replay: reconcile finds the counters equal to a rebuild from it.
    checked = subprocess.run(
        [sys.executable, "-m", "tidemark_metrics.entrypoints.cli", "reconcile", "--projection", "attendance",
         "--trust-id", trust],
        env={**os.environ, **platform.env, "REDIS_PREFIX": platform.redis_prefix},
        capture_output=True, text=True, timeout=120, check=False,
    )
    # its facts: three pupils and six marks (the attendance projection is not rebuilt from schools)
    assert f"{trust}: 9 facts of the SQL store: consistent" in checked.stdout, checked.stdout
    assert checked.returncode == 0, checked.stdout


def test_attainment_beside_attendance_follows_registers_results_and_a_correction(platform):
    """Issue 12's attendance vs attainment, end to end: registers and locked results posted to ingest
    reach `/v1/reports/attendance-attainment` through the attendance projection, with the figures of
    this hand-computed example, whichever arrives first; a correction moves a pupil between bands.

    Elm, SPR1 2025/26, Monday and Tuesday 12-13 January 2026. Reading: Ava present all four sessions
    (regular, AT); Ben present Monday morning only, Monday afternoon N (1 of 2 sessions marked,
    missed: 50%, severe, BELOW); Cal misses Tuesday afternoon (O; 1 of 4: 25%, persistent, ABOVE);
    Dan has no register (unrecorded, AT). Persistent absentees (Ben, Cal): 2, 1 at or above, 50%;
    severe (Ben): 1, 0%; not persistent (Ava): 1, 100%; unrecorded (Dan): 1, 100%; All Pupils 4, 3,
    75% as the attainment report. Ben's afternoon corrected to present (`\\`): he is regular, so
    persistent 1 (Cal) at 100%, severe none, not persistent 2 at 50%."""
    trust, school = "trust-attendance-attainment", "AA-S1"
    monday, tuesday = date(2026, 1, 12), date(2026, 1, 13)
    with platform.ingest(trust) as ingest:
        assert ingest.post("/v1/schools", json=[{"school_id": school, "name": "Elm"}]).status_code == 200
        assert ingest.post("/v1/pupils", json=[pupil(f"AA-{name}", school) for name in ("AVA", "BEN", "CAL", "DAN")]
                           ).status_code == 200
        reading = [dict(pupil_id=f"AA-{name}", school_id=school, academic_year=YEAR, period="SPR1", year_group="Y4",
                        subject="reading", band=band)
                   for name, band in (("AVA", "AT"), ("BEN", "BELOW"), ("CAL", "ABOVE"), ("DAN", "AT"))]
        assert ingest.post("/v1/assessments", json=reading).status_code == 200
        assert ingest.post("/v1/assessments/lock", json={"school_id": school, "academic_year": YEAR,
                                                          "period": "SPR1"}).status_code == 200

        def register(day: date, *marks: tuple[str, str, str]) -> None:
            rows = [{"pupil_id": f"AA-{p}", "school_id": school, "date": day.isoformat(), "session": s, "code": c}
                    for p, s, c in marks]
            answer = ingest.post("/v1/attendance", json=rows)
            assert answer.status_code == 200, answer.text

        register(monday, ("AVA", "AM", "/"), ("AVA", "PM", "\\"), ("BEN", "AM", "/"), ("BEN", "PM", "N"),
                 ("CAL", "AM", "/"), ("CAL", "PM", "\\"))
        register(tuesday, ("AVA", "AM", "/"), ("AVA", "PM", "\\"), ("CAL", "AM", "/"), ("CAL", "PM", "O"))

        def rows() -> dict:
            with platform.gateway(trust) as gateway:
                body = gateway.get("/v1/reports/attendance-attainment",
                                   params={"academic_year": YEAR, "period": "SPR1", "measure": "reading"}).json()
            found = {row["group"]: (row["n"], row["at_or_above"], row["pct"]) for row in body["rows"]}
            return {**found, "all": (body["all_pupils"]["n"], body["all_pupils"]["at_or_above"], body["all_pupils"]["pct"])}

        eventually(lambda: rows() == {"persistent": (2, 1, 50.0), "severe": (1, 0, 0.0), "not_persistent": (1, 1, 100.0),
                                      "unrecorded": (1, 1, 100.0), "all": (4, 3, 75.0)}, timeout=60)
        assert figures(report(platform, trust, "reading", period="SPR1"))["all"] == (4, 3)
        register(monday, ("BEN", "PM", "\\"))
        eventually(lambda: rows() == {"persistent": (1, 1, 100.0), "severe": (0, 0, None),
                                      "not_persistent": (2, 1, 50.0), "unrecorded": (1, 1, 100.0), "all": (4, 3, 75.0)})
