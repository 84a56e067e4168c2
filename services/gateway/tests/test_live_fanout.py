"""The live fan-out (`service_layer/live.py`): one Redis reader per Trust per process hands every
notice to that process's open pages, each through its own bounded queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from tidemark_gateway.adapters.counter_cache import CounterCache
from tidemark_gateway.adapters.redis_reader import ReadModel, StreamEntry
from tidemark_gateway.service_layer.live import LivePage, LiveUpdates, PageEnd
from tidemark_gateway.testing import OTHER_TRUST, TRUST, Seeder
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import Keyspace

TRUST_WIDE = Principal(trust_id=TRUST, role="viewer")
OAK_ONLY = Principal(trust_id=TRUST, role="viewer", schools=frozenset({"S1"}))
OTHER = Principal(trust_id=OTHER_TRUST, role="viewer")
WAIT = 5.0
HEARTBEAT_MS = 200


@dataclass
class Live:
    updates: LiveUpdates
    seed: Seeder
    redis: Redis
    client_name: str
    """The name of the live connections in CLIENT LIST."""

    async def blocked_readers(self) -> int:
        """This gateway's live connections waiting in a blocking read now."""
        clients = await self.redis.client_list()
        return sum(1 for c in clients if c["name"] == self.client_name and "b" in c["flags"])

    async def live_connections(self) -> int:
        return sum(1 for c in await self.redis.client_list() if c["name"] == self.client_name)


@pytest.fixture
async def live(redis_url: str, redis: Redis, prefix: str) -> AsyncIterator[Live]:
    name = f"live-{uuid.uuid4().hex[:8]}"
    live_redis = Redis.from_url(redis_url, decode_responses=True, client_name=name)
    read_model = ReadModel(Redis.from_url(redis_url, decode_responses=True), live_redis, prefix, CounterCache())
    updates = LiveUpdates(read_model, HEARTBEAT_MS, batch_size=100, queue_size=5)
    try:
        yield Live(updates, Seeder(redis, Keyspace(prefix, TRUST)), redis, name)
    finally:
        await updates.aclose()
        await read_model.aclose()


async def received(page: LivePage, count: int) -> list[StreamEntry]:
    """The next `count` notices of a page (heartbeats skipped); fails after WAIT seconds (also
    checked at each heartbeat, should the page's own heartbeat timeout ever absorb the outer one)."""
    found: list[StreamEntry] = []
    deadline = asyncio.get_running_loop().time() + WAIT
    async with asyncio.timeout(WAIT):
        async for entry in page:
            if isinstance(entry, PageEnd):
                raise AssertionError(f"the page ended ({entry}) after {len(found)} notices")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(found)} of {count} notices within {WAIT} s")
            if entry is not None:
                found.append(entry)
                if len(found) == count:
                    return found
    return found


async def next_entries(page: LivePage, count: int) -> list[StreamEntry | PageEnd | None]:
    """The next `count` things a page yields, heartbeats (None) included."""
    found: list[StreamEntry | PageEnd | None] = []
    async with asyncio.timeout(WAIT):
        async for entry in page:
            found.append(entry)
            if len(found) == count:
                break
    return found


async def until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(WAIT):
        while not await condition():
            await asyncio.sleep(0.01)


async def test_many_pages_of_a_trust_share_one_redis_reader_and_each_gets_every_notice(live: Live) -> None:
    pages = [await live.updates.follow(TRUST_WIDE, None) for _ in range(50)]
    caught_up = await asyncio.gather(*(next_entries(page, 1) for page in pages))
    assert caught_up == [[None]] * 50  # each has caught up (a heartbeat): the rest comes from the feed

    first = await live.seed.notice("2025/26", "AUT1", "reading", "S1")
    second = await live.seed.notice("2025/26", "AUT1", "maths", "S2")
    heard = await asyncio.gather(*(received(page, 2) for page in pages))

    assert all([stream_id for stream_id, _notice in notices] == [first, second] for notices in heard)
    assert live.updates.feeds == 1 and live.updates.pages == 50
    assert await live.blocked_readers() == 1  # one blocking XREAD for the 50 pages
    assert await live.live_connections() < 50  # the pages hold none: the feed's, and a few that opened pages
    for page in pages:
        page.close()
    assert (live.updates.feeds, live.updates.pages) == (0, 0)  # the feed stops with its last page


async def test_a_resumed_page_catches_up_then_joins_the_fan_out_without_gap_or_duplicate(live: Live) -> None:
    following = await live.updates.follow(TRUST_WIDE, None)  # the Trust's feed is running
    ids = [await live.seed.notice("2025/26", "AUT1", "reading", "S1") for _ in range(5)]
    await received(following, 5)  # the feed has handed out the five

    resumed = await live.updates.follow(TRUST_WIDE, ids[1])  # joined the feed: from now it is handed notices
    sixth = await live.seed.notice("2025/26", "AUT2", "reading", "S1")  # in the stream AND on its queue
    caught_up = await received(resumed, 4)
    seventh = await live.seed.notice("2025/26", "AUT2", "maths", "S2")
    [joined] = await received(resumed, 1)

    after = await next_entries(resumed, 3)  # the sixth and seventh are still on its queue: both skipped

    assert [stream_id for stream_id, _ in caught_up] == [*ids[2:], sixth]
    assert joined[0] == seventh
    assert after == [None, None, None]  # heartbeats only


async def test_a_page_hears_only_of_the_schools_it_may_see_and_another_trust_hears_nothing(live: Live) -> None:
    trust_wide = await live.updates.follow(TRUST_WIDE, None)
    oak_only = await live.updates.follow(OAK_ONLY, None)
    other_trust = await live.updates.follow(OTHER, None)

    await live.seed.notice("2025/26", "AUT1", "reading", "S2")
    both = await live.seed.notice("2025/26", "AUT1", "maths", "S2,S1")
    [_first, (both_id, whole)] = await received(trust_wide, 2)
    [(oak_id, oak_part)] = await received(oak_only, 1)
    [heard_by_other] = await next_entries(other_trust, 1)

    assert (both_id, whole.schools) == (both, ("S2", "S1"))
    assert (oak_id, oak_part.schools, oak_part.measures) == (both, ("S1",), ("maths",))
    assert heard_by_other is None  # a heartbeat: another Trust's stream says nothing
    assert live.updates.feeds == 2  # one per Trust


async def test_a_page_that_falls_behind_is_ended_without_holding_up_the_others_and_resumes_without_gap(
    live: Live,
) -> None:
    slow = await live.updates.follow(TRUST_WIDE, None)
    fast = await live.updates.follow(TRUST_WIDE, None)
    first = await live.seed.notice("2025/26", "AUT1", "reading", "S1")
    for page in (slow, fast):
        await received(page, 1)
        assert await next_entries(page, 1) == [None]  # a heartbeat: it caught up, the feed hands it the rest

    burst, fast_heard = [], []
    for _ in range(12):  # the fast page reads each notice as it comes; the slow one reads nothing (queues hold 5)
        burst.append(await live.seed.notice("2025/26", "AUT1", "reading", "S1"))
        fast_heard += await received(fast, 1)
    async with asyncio.timeout(WAIT):
        slow_ends = [entry async for entry in slow]

    assert [stream_id for stream_id, _ in fast_heard] == burst
    assert slow_ends == [PageEnd.BEHIND]  # the route sends it as a `reconnect` event, then ends
    assert live.updates.pages == 1  # the feed dropped it (and what was queued for it)
    resumed = await live.updates.follow(TRUST_WIDE, first)  # the browser reconnects with its last event id
    assert [stream_id for stream_id, _ in await received(resumed, 12)] == burst


async def test_when_the_feed_loses_redis_its_pages_end_and_the_next_page_starts_a_new_feed(live: Live) -> None:
    page = await live.updates.follow(TRUST_WIDE, None)
    await until(lambda: _at_least(live.blocked_readers, 1), "the feed reads")
    for client in await live.redis.client_list():
        if client["name"] == live.client_name and "b" in client["flags"]:
            await live.redis.client_kill_filter(_id=client["id"])

    async with asyncio.timeout(WAIT):
        ends = [entry async for entry in page if entry is not None]
    reopened = await live.updates.follow(TRUST_WIDE, None)
    notice = await live.seed.notice("2025/26", "AUT1", "reading", "S1")

    assert ends == []  # the stream ends quietly (the feed logged why); the browser reconnects
    assert [stream_id for stream_id, _ in await received(reopened, 1)] == [notice]


async def _at_least(count, least: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await count() >= least)


class SwallowingStream:
    """A change stream whose blocking read swallows its first cancellation, as redis-py's can
    (redis/redis-py#2028): the read returns, empty, instead of raising."""

    trust_id = TRUST
    swallowed = 0

    async def last_notice_id(self) -> str:
        return "0-0"

    async def notices_after(self, position: str, block_ms: int | None, count: int) -> list[StreamEntry]:
        try:
            await asyncio.sleep((block_ms or 0) / 1000)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1
        return []


async def test_closing_ends_a_feed_even_when_its_blocking_read_swallowed_the_cancellation() -> None:
    stream = SwallowingStream()
    read_model = type("Streams", (), {"change_stream": lambda self, trust_id: stream})()
    updates = LiveUpdates(read_model, HEARTBEAT_MS, batch_size=10, queue_size=5)  # type: ignore[arg-type]  # a stand-in
    page = await updates.follow(TRUST_WIDE, None)
    await asyncio.sleep(HEARTBEAT_MS / 4000)  # the feed is in its blocking read

    closing = asyncio.create_task(updates.aclose())  # once hung for good here (a teardown in `make test`)
    done, _ = await asyncio.wait([closing], timeout=HEARTBEAT_MS / 1000 + 2)

    assert closing in done and stream.swallowed == 1
    assert page.feed.task is not None and page.feed.task.done()
