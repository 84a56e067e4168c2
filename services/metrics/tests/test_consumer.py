"""The metrics consumer's batch: malformed records are set aside, and change notices keep their Trust."""

from __future__ import annotations

import json
import uuid

from aiokafka.structs import ConsumerRecord
from redis.asyncio import Redis

from tidemark_metrics.adapters.redis_store import AggregateStore
from tidemark_metrics.consumer import MetricsConsumer
from tidemark_runtime.kafka import parse_batch
from tidemark_schemas.events import AssessmentLocked, PupilUpserted


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[tuple[dict, bytes]] = []

    async def publish(self, notice, key: bytes) -> None:  # type: ignore[no-untyped-def]
        self.published.append((notice.model_dump(mode="json"), key))


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
    consumer = MetricsConsumer(AggregateStore(redis, f"c{uuid.uuid4().hex[:6]}"), broker=None, changes=changes)  # type: ignore[arg-type]
    bodies = [e.model_dump_json().encode() for e in events_of("T1", "S1") + events_of("T2", "S9")]
    await consumer.handle([record(i, body) for i, body in enumerate(bodies)])
    announced = sorted((notice["trust_id"], notice["schools"], key) for notice, key in changes.published)
    assert announced == [("T1", ["S1"], b"T1"), ("T2", ["S9"], b"T2")]
    await redis.aclose()
