"""One trace runs from an ingest request, through the outbox row and the Kafka record's headers, to
the projection's apply and its Redis write: on the real embedded broker, Redis and PostgreSQL,
with ingest's app (its request middleware and its outbox relay) and the metrics projection's
consumer in this process, their spans kept by an in-memory exporter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from redis.asyncio import Redis

from tidemark_ingest.entrypoints.app import create_app as ingest_app
from tidemark_ingest.settings import IngestSettings
from tidemark_metrics.domain.projection import METRICS
from tidemark_metrics.service import SERVICE as METRICS_SERVICE
from tidemark_runtime.observability import tracing
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.service import ProjectionConsumer
from tidemark_runtime.settings import TokenGrant
from tidemark_schemas import topics

pytestmark = pytest.mark.e2e


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing.use_provider(provider):
        yield exporter
    provider.shutdown()


async def records_of(bootstrap: str, topic: str, trust_id: str, wanted: int, timeout: float = 30.0) -> list:
    """The records of `topic` that carry `trust_id` (`wanted` of them at least), read from the
    beginning (no consumer group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        found: list = []
        async with asyncio.timeout(timeout):
            while len(found) < wanted:
                batches = await consumer.getmany(timeout_ms=500)
                found += [r for batch in batches.values() for r in batch if trust_id.encode() in r.value]
        return found
    finally:
        await consumer.stop()


def ingest_for(trust: str, settings_of: dict) -> tuple[object, str]:
    token = uuid.uuid4().hex
    settings = IngestSettings(**settings_of, tidemark_tokens={token: TokenGrant(trust_id=trust, role="ingest")})
    return ingest_app(settings), token


def by_name(finished: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    [span] = [span for span in finished if span.name == name]
    return span


async def test_one_trace_runs_from_an_ingest_post_to_the_projections_redis_write(
    spans, kafka_bootstrap, redis_url, database_url
):
    trust = f"trace-{uuid.uuid4().hex[:8]}"
    app, token = ingest_for(trust, {"database_url": database_url, "kafka_bootstrap_servers": kafka_bootstrap})
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://ingest", headers={"Authorization": f"Bearer {token}"}
    ) as ingest:
        answer = await ingest.post("/v1/schools", json=[{"school_id": "TR-S1", "name": "Tracing Primary"},
                                                       {"school_id": "TR-S2", "name": "Span Academy"}])
        assert answer.status_code == 200, answer.text
        records = await records_of(kafka_bootstrap, topics.SCHOOLS, trust, wanted=2)

    redis = Redis.from_url(redis_url)
    try:
        engine = ProjectionEngine(redis, f"tr{uuid.uuid4().hex[:6]}", METRICS)

        async def nowhere(*_args: object) -> None:
            raise AssertionError("nothing is published or dead-lettered here")

        result = await ProjectionConsumer(engine, None, nowhere, nowhere).handle(records)
    finally:
        await redis.aclose()
    assert result.applied == 2

    finished = spans.get_finished_spans()
    request = by_name(finished, "POST /v1/schools")
    relay = by_name(finished, "relay outbox")
    apply = by_name(finished, "apply metrics")
    write = by_name(finished, "redis write")
    assert request.kind == SpanKind.SERVER and request.attributes["http.response.status_code"] == 200
    trace_id = request.context.trace_id
    assert {span.context.trace_id for span in (relay, apply, write)} == {trace_id}
    # the relay and the consumer both continue the request (the context stored with the outbox row),
    # and the Redis write is the apply's
    assert relay.parent.span_id == request.context.span_id
    assert apply.parent.span_id == request.context.span_id and apply.kind == SpanKind.CONSUMER
    assert write.parent.span_id == apply.context.span_id
    assert write.attributes["tidemark.trust_id"] == trust and write.attributes["tidemark.outcome"] == "written"
    assert {dict(r.headers)["traceparent"].decode().split("-")[1] for r in records} == {format(trace_id, "032x")}


async def test_with_tracing_off_no_context_is_stored_or_sent(kafka_bootstrap, database_url):
    trust = f"untraced-{uuid.uuid4().hex[:8]}"
    app, token = ingest_for(trust, {"database_url": database_url, "kafka_bootstrap_servers": kafka_bootstrap})
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://ingest", headers={"Authorization": f"Bearer {token}"}
    ) as ingest:
        sent = await ingest.post("/v1/schools", json=[{"school_id": "UT-S1", "name": "Quiet Primary"}],
                                 headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
        assert sent.status_code == 200
        [record] = await records_of(kafka_bootstrap, topics.SCHOOLS, trust, wanted=1)
    assert not tracing.enabled()
    assert "traceparent" not in dict(record.headers or ())


async def test_a_locks_trace_reaches_the_live_notice_and_the_public_announcement(
    spans, kafka_bootstrap, redis_url, database_url
):
    trust, school, year, period = f"lock-{uuid.uuid4().hex[:8]}", "LK-S1", "2025/26", "AUT1"
    app, token = ingest_for(trust, {"database_url": database_url, "kafka_bootstrap_servers": kafka_bootstrap})
    pupil = dict(pupil_id="LK-P1", school_id=school, year_group="Y3", sex="F", fsm6=False, lac=False, plac=False,
                 sen="N", eal=False, ethnicity="WBRI", left_on=None)
    rows = [dict(pupil_id="LK-P1", school_id=school, academic_year=year, period=period, year_group="Y3",
                 subject=subject, band="AT") for subject in ("reading", "writing", "maths")]
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://ingest", headers={"Authorization": f"Bearer {token}"}
    ) as ingest:
        for path, body in (("/v1/schools", [{"school_id": school, "name": "Lantern"}]), ("/v1/pupils", [pupil]),
                           ("/v1/assessments", rows)):
            assert (await ingest.post(path, json=body)).status_code == 200
        locked = await ingest.post("/v1/assessments/lock", json={"school_id": school, "academic_year": year,
                                                                 "period": period})
        assert locked.status_code == 200
        earlier = (await records_of(kafka_bootstrap, topics.SCHOOLS, trust, 1)
                   + await records_of(kafka_bootstrap, topics.PUPILS, trust, 1))
        assessments = await records_of(kafka_bootstrap, topics.ASSESSMENTS, trust, 6)
    entered = [r for r in assessments if b'"assessment-entered"' in r.value]
    locks = [r for r in assessments if b'"assessment-locked"' in r.value]
    assert (len(entered), len(locks)) == (3, 3)

    announced: list[dict | None] = []

    async def publish(_topic: str, _key: bytes, _message: object) -> None:
        announced.append(tracing.message_headers())  # what the broker publisher sends with it

    async def nowhere(*_args: object) -> None:
        raise AssertionError("nothing here is malformed")

    trace_id = by_name(spans.get_finished_spans(), "POST /v1/assessments/lock").context.trace_id
    redis = Redis.from_url(redis_url)
    try:
        consumer = ProjectionConsumer(ProjectionEngine(redis, f"lk{uuid.uuid4().hex[:6]}", METRICS),
                                      METRICS_SERVICE.publication, publish, nowhere)
        await consumer.handle(earlier + entered)
        spans.clear()  # only the lock batch's spans and announcements from here
        announced.clear()
        result = await consumer.handle(locks)
    finally:
        await redis.aclose()
    assert result.applied == 3 and result.notices

    finished = spans.get_finished_spans()
    apply = by_name(finished, "apply metrics")
    notice = by_name(finished, "live notice")
    announce = by_name(finished, "announce attainment.changes.v1")
    assert {span.context.trace_id for span in (apply, by_name(finished, "redis write"), notice, announce)} == {trace_id}
    assert notice.parent.span_id == announce.parent.span_id == apply.context.span_id
    assert notice.attributes["tidemark.trust_ids"] == (trust,)
    assert announced and all(headers["traceparent"].split("-")[1] == format(trace_id, "032x") for headers in announced)
