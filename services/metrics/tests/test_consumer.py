"""The metrics consumer's batch: malformed records are set aside, and change notices keep their Trust."""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel
from redis.asyncio import Redis

from tidemark_metrics.domain.projection import METRICS
from tidemark_metrics.service import SERVICE
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.service import ProjectionConsumer
from tidemark_runtime.kafka import Rejection, parse_batch
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.events import AssessmentLocked, PupilUpserted


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict, bytes]] = []

    async def publish(self, topic: str, key: bytes, notice: BaseModel) -> None:
        self.published.append((topic, notice.model_dump(mode="json"), key))

    async def dead_letter(self, record: ConsumerRecord, rejection: object) -> None:
        raise AssertionError("nothing here is malformed")


def record(offset: int, body: bytes) -> ConsumerRecord:
    return ConsumerRecord("tracker.assessments.v1", 0, offset, 0, 0, b"k", body, None, 0, len(body), [])


def events_of(trust_id: str, school_id: str) -> list:
    pupil = PupilUpserted(
        trust_id=trust_id, pupil_id="P1", school_id=school_id, year_group="Y3", sex="F", fsm6=False, lac=False,
        plac=False, sen="N", eal=False, ethnicity="WBRI", left_on=None, version=1,
    )
    result = AssessmentLocked(
        trust_id=trust_id, pupil_id="P1", school_id=school_id, academic_year="2025/26", period="AUT1",
        year_group="Y3", subject="reading", entered_band="AT", locked_band="AT", version=2,
    )
    return [pupil, result]


def test_a_malformed_record_is_set_aside_with_its_field_and_the_rest_parse():
    good = events_of("T1", "S1")[1].model_dump_json().encode()
    bad = json.dumps({**json.loads(good), "locked_band": "SECURE"}).encode()
    events, rejected = parse_batch([record(0, good), record(1, bad)])
    assert [e.subject for e in events] == ["reading"]
    [(rejected_record, rejection)] = rejected
    assert (rejected_record.offset, rejection.field) == (1, "assessment-locked.locked_band")


async def test_each_trusts_change_notice_is_announced_under_that_trust_only(redis_url):
    redis = Redis.from_url(redis_url)
    changes = RecordingPublisher()
    engine = ProjectionEngine(redis, f"c{uuid.uuid4().hex[:6]}", METRICS)
    consumer = ProjectionConsumer(engine, SERVICE.publication, changes.publish, changes.dead_letter)
    bodies = [e.model_dump_json().encode() for e in events_of("T1", "S1") + events_of("T2", "S9")]
    await consumer.handle([record(i, body) for i, body in enumerate(bodies)])
    announced = sorted((topic, notice["trust_id"], notice["schools"], key) for topic, notice, key in changes.published)
    assert announced == [("attainment.changes.v1", "T1", ["S1"], b"T1"), ("attainment.changes.v1", "T2", ["S9"], b"T2")]
    await redis.aclose()


def test_the_metrics_process_runs_attainment_and_attendance_as_two_consumer_groups():
    from tidemark_metrics.entrypoints.app import create_app

    subscribers = {s.group_id: sorted(s.topic_names) for s in create_app().broker.subscribers}
    assert subscribers == {
        "tidemark-metrics": ["tracker.assessments.v1", "tracker.pupils.v1", "tracker.schools.v1"],
        "tidemark-attendance": ["tracker.assessments.v1", "tracker.attendance.v1", "tracker.pupils.v1"],
    }


async def test_a_forged_version_is_dead_lettered_counted_and_alerted_and_the_genuine_correction_still_applies(
    redis_url, caplog
):
    """A fact at version 3, then an event claiming version 999 of it: refused (it would otherwise
    change the figure and make every later correction look stale), and version 4 applies."""
    redis = Redis.from_url(redis_url)
    prefix = f"forged{uuid.uuid4().hex[:6]}"
    dead: list[tuple[int, Rejection]] = []

    async def dead_letter(record: ConsumerRecord, rejection: Rejection) -> None:
        dead.append((record.offset, rejection))

    consumer = ProjectionConsumer(ProjectionEngine(redis, prefix, METRICS, max_version_jump=100), None,
                                  RecordingPublisher().publish, dead_letter)
    pupil, result = events_of("T1", "S1")
    counters = Keyspace(prefix, "T1").counters("2025/26", "AUT1", "reading", "S1")

    async def reading() -> Counter:
        return Counter({field.decode().rsplit("|", 1)[1]: int(n) for field, n in (await redis.hgetall(counters)).items()})

    def body(band: str, version: int) -> bytes:
        changed = {**result.model_dump(), "entered_band": band, "locked_band": band, "version": version}
        return AssessmentLocked.model_validate(changed).model_dump_json().encode()

    try:
        await consumer.handle([record(0, pupil.model_dump_json().encode()), record(1, body("AT", 3))])
        assert await reading() == {"AT": 1}
        with caplog.at_level(logging.ERROR, logger="tidemark_runtime.projections.service"):
            await consumer.handle([record(2, body("BELOW", 999))])
        [(offset, rejection)] = dead
        assert (offset, rejection.field) == (2, "version")
        assert "version 999 is 996 ahead of the stored version 3" in rejection.reason
        assert await reading() == {"AT": 1}  # no figure moved
        assert any("possibly forged" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
        assert (consumer.counts["refused_versions"], consumer.counts["dead_lettered"]) == (1, 1)

        await consumer.handle([record(3, body("BELOW", 4))])  # the genuine correction
        assert await reading() == {"BELOW": 1}
        assert consumer.counts["applied"] == 3 and len(dead) == 1
    finally:
        await redis.aclose()
