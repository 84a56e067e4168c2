"""The outbox relay publishes committed events promptly, in id order, and marks them published."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from tidemark_ingest.adapters.database import create_engine, session_factory
from tidemark_ingest.adapters.relay import OutboxRelay
from tidemark_ingest.service_layer import IngestService
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.records import SchoolRecord


class SlowBroker:
    """Stands in for the Kafka producer: acknowledges each record after a delay, records the order."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(
        self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(self.delay, acknowledged.set_result, None)
        return acknowledged


@pytest.fixture
async def wiring(database_url):
    engine = create_engine(database_url)
    broker = SlowBroker(delay=0.2)
    relay = OutboxRelay(session_factory(engine), broker, idle_poll_seconds=30.0)  # type: ignore[arg-type]
    service = IngestService(session_factory(engine), PeriodCalendar(), relay.wake)
    task = asyncio.create_task(relay.run_forever())
    yield service, relay, broker
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await engine.dispose()


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


async def test_the_outbox_gauges_count_the_unpublished_rows_and_date_the_next_one(database_url):
    from prometheus_client import REGISTRY

    from tidemark_runtime.observability.metrics import set_outbox

    engine = create_engine(database_url)
    relay = OutboxRelay(session_factory(engine), SlowBroker(delay=0.0))  # type: ignore[arg-type]
    service = IngestService(session_factory(engine), PeriodCalendar(), lambda: None)  # no relay running
    try:
        assert await relay.outbox_state() == (0, None)
        await service.post_schools("T", [SchoolRecord(school_id="S1", name="Oak"),
                                         SchoolRecord(school_id="S2", name="Ash")])
        await asyncio.sleep(0.2)
        unpublished, oldest = await relay.outbox_state()
        set_outbox(unpublished, oldest)
        assert unpublished == 2 and oldest is not None
        assert REGISTRY.get_sample_value("tidemark_outbox_unpublished_rows") == 2
        assert REGISTRY.get_sample_value("tidemark_outbox_oldest_unpublished_age_seconds") >= 0.2
        assert await relay.publish_pending() == 2
        set_outbox(*await relay.outbox_state())
        assert REGISTRY.get_sample_value("tidemark_outbox_oldest_unpublished_age_seconds") == 0.0
    finally:
        await engine.dispose()
