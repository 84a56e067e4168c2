"""The metrics consumer's batch: malformed records are set aside, and change notices keep their Trust."""

from __future__ import annotations

import json
import uuid

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel
from redis.asyncio import Redis

from tidemark_metrics.domain.projection import METRICS
from tidemark_metrics.service import SERVICE
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.service import ProjectionConsumer
from tidemark_runtime.kafka import parse_batch
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
        "tidemark-attendance": ["tracker.attendance.v1", "tracker.pupils.v1"],
    }
