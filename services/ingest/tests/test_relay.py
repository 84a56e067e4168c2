"""The outbox relay publishes committed events promptly, in id order, and marks them published."""

from __future__ import annotations

import asyncio
import inspect
import time

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from tidemark_ingest.bootstrap import bootstrap
from tidemark_ingest.testing import ingest_settings
from tidemark_runtime.embedded import free_port, start_tansu
from tidemark_runtime.kafka import missing_topics
from tidemark_schemas import topics
from tidemark_schemas.records import SchoolRecord
from tidemark_schemas.topics import TRACKER_TOPICS


class SlowBroker:
    """Stands in for the Kafka producer: acknowledges each record after a delay, records the order."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(self.delay, acknowledged.set_result, None)
        return acknowledged


@pytest.fixture
async def wiring(database_url):
    broker = SlowBroker(delay=0.2)
    async with bootstrap(ingest_settings(database_url, relay_idle_poll_seconds=30.0), producer=broker) as ingest:
        yield ingest.tracker, ingest.relay, broker


async def wait_for(condition, timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_commit_during_a_publish_goes_out_without_waiting_for_the_idle_poll(wiring):
    service, relay, broker = wiring
    await service.post_schools("T", [SchoolRecord(school_id="S1", name="Oak")])
    await wait_for(lambda: len(broker.sent) == 1, timeout=2)  # first publish now awaiting its ack
    await service.post_schools("T", [SchoolRecord(school_id="S2", name="Ash")])
    elapsed = await wait_for(lambda: relay.published == 2, timeout=5)
    assert elapsed < 1.0  # the idle poll is 30 s
    assert [key for _topic, key, _value in broker.sent] == [b"S1", b"S2"]
    assert await relay.backlog() == 0


async def test_ingest_stops_even_when_a_commit_wakes_the_relay_as_it_stops(database_url):
    """On Python 3.11, `asyncio.wait_for` returned normally when cancelled just as the wake-up came,
    so the relay ran on and stopping ingest hung."""
    async with asyncio.timeout(10):
        async with bootstrap(ingest_settings(database_url, relay_idle_poll_seconds=30.0),
                             producer=SlowBroker(delay=0.0)) as ingest:
            await asyncio.sleep(0.2)  # the relay is idle, waiting for a wake-up
            ingest.relay.wake()  # and leaving cancels it in this same turn of the loop


async def school_keys_on(bootstrap_servers: str, at_least: int = 1) -> list[bytes] | None:
    """The keys of every record on the schools topic of this broker, from its start (None: fewer
    than `at_least`, or no such topic)."""
    if await missing_topics(bootstrap_servers, [topics.SCHOOLS]):
        return None
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topics.SCHOOLS, p) for p in consumer.partitions_for_topic(topics.SCHOOLS) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        keys: list[bytes] = []
        while batch := await consumer.getmany(timeout_ms=1000):
            keys += [record.key for records in batch.values() for record in records]
        return sorted(keys) if len(keys) >= at_least else None
    finally:
        await consumer.stop()


async def until(check, timeout: float = 60.0):
    """Poll `check` (a function, or a coroutine function) until it returns a truthy value."""
    async with asyncio.timeout(timeout):
        while not (found := await _value(check())):
            await asyncio.sleep(0.2)
    return found


async def _value(found):
    return await found if inspect.isawaitable(found) else found


async def test_after_the_broker_restarts_without_its_topics_the_relay_creates_them_and_publishes_on(
    database_url, tmp_path
):
    """The embedded broker keeps topics in memory: a new one on the same port has none. What was
    posted while it was away stays unpublished (never marked without the broker's acknowledgement),
    and everything goes out once it is back, with no manual step."""
    port = free_port()
    broker = start_tansu(port=port, log_dir=tmp_path / "first")
    servers = broker.url
    settings = ingest_settings(database_url, kafka_bootstrap_servers=servers, relay_idle_poll_seconds=0.1)
    try:
        async with bootstrap(settings) as ingest:
            relay = ingest.relay
            await ingest.tracker.post_schools("T", [SchoolRecord(school_id="S1", name="Oak")])
            assert await until(lambda: school_keys_on(servers)) == [b"S1"]

            broker.stop()
            await ingest.tracker.post_schools("T", [SchoolRecord(school_id="S2", name="Ash")])
            await until(lambda: relay.last_error)  # the relay holds S2 and waits for the broker
            assert relay.published == 1 and await relay.backlog() == 1  # not acknowledged: not marked

            broker = start_tansu(port=port, log_dir=tmp_path / "second")  # with no topics
            await ingest.tracker.post_schools("T", [SchoolRecord(school_id="S3", name="Elm")])

            assert await until(lambda: school_keys_on(servers, at_least=2)) == [b"S2", b"S3"]  # S1 went with the old
            assert await until(lambda: relay.published == 3) and await relay.backlog() == 0
            assert relay.topics_restored >= len(TRACKER_TOPICS)
            assert await missing_topics(servers, TRACKER_TOPICS) == set()
    finally:
        broker.stop()

