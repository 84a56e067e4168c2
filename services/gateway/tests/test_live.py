"""GET /v1/live over real HTTP (uvicorn): an SSE stream never ends, so it cannot go through the
buffering ASGI test transport."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis

from tidemark_gateway.bootstrap import Services
from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.service_layer.live import OPENING_READS
from tidemark_gateway.settings import GatewaySettings
from tidemark_gateway.testing import TRUST, Seeder, gateway_settings
from tidemark_runtime.embedded import LOOPBACK, free_port, start_valkey
from tidemark_schemas.aggregates import Keyspace

READ_TIMEOUT = 5.0


@dataclass
class Event:
    id: str | None = None
    event: str | None = None
    data: dict | None = None
    comments: list[str] = field(default_factory=list)


async def events(response: httpx.Response) -> AsyncIterator[Event]:
    """Parse the SSE wire format into events (comments included, for the heartbeat)."""
    current = Event()
    async for line in response.aiter_lines():
        if line == "":
            yield current
            current = Event()
        elif line.startswith(":"):
            current.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(": ")
            if name == "data":
                current.data = json.loads(value)
            elif name in ("id", "event"):
                setattr(current, name, value)


async def changes(stream: AsyncIterator[Event], count: int) -> list[Event]:
    """The next `count` change events, skipping comments; fails after READ_TIMEOUT seconds."""
    found: list[Event] = []
    async with asyncio.timeout(READ_TIMEOUT):
        async for event in stream:
            if event.event == "change":
                found.append(event)
                if len(found) == count:
                    break
    return found


@dataclass
class LiveServer:
    url: str
    seed: Seeder
    app: FastAPI

    @property
    def services(self) -> Services:
        built: Services = self.app.state.services
        return built

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stream(self, client: httpx.AsyncClient, token: str = "viewer", last_event_id: str | None = None):
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        return client.stream("GET", f"{self.url}/v1/live", headers=headers)


@contextlib.asynccontextmanager
async def serving(settings: GatewaySettings, redis: Redis) -> AsyncIterator[LiveServer]:
    """The gateway under uvicorn on a free loopback port."""
    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn stopped before it started"
        await asyncio.sleep(0.01)
    seeder = Seeder(redis, Keyspace(settings.redis_prefix, TRUST))
    await seeder.whole()  # a read model whole (the projections' epoch), empty until seeded
    try:
        yield LiveServer(f"http://{LOOPBACK}:{port}", seeder, app)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def live(redis_url: str, redis: Redis, prefix: str) -> AsyncIterator[LiveServer]:
    """A short heartbeat (0.2 s), so that tests see heartbeats quickly."""
    async with serving(gateway_settings(redis_url, prefix), redis) as server:
        yield server


QUIET_SECONDS = 30.0


async def test_an_idle_stream_stays_open_through_30_quiet_seconds_and_then_delivers_a_locks_notice(
    redis_url: str, redis: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The heartbeat (60 s) is longer than every client timeout on the way (redis-py's 5 s socket
    timeout, this HTTP client's read timeout): a Redis read that outlived its socket timeout used
    to end the stream after 5 quiet seconds."""
    settings = gateway_settings(redis_url, prefix, live_heartbeat_seconds=60.0)
    timeout = httpx.Timeout(READ_TIMEOUT, read=QUIET_SECONDS + READ_TIMEOUT)
    received: asyncio.Queue[Event | None] = asyncio.Queue()  # None: the stream ended

    async def read(response: httpx.Response) -> None:
        async for event in events(response):
            await received.put(event)
        await received.put(None)

    async with (
        serving(settings, redis) as live,
        httpx.AsyncClient(timeout=timeout) as client,
        live.stream(client) as response,
    ):
        reading = asyncio.create_task(read(response))
        async with asyncio.timeout(READ_TIMEOUT):
            connected = await received.get()
        await asyncio.sleep(QUIET_SECONDS)
        quiet = [received.get_nowait() for _ in range(received.qsize())]
        assert None not in quiet, "the stream ended while nothing happened"
        lock = await live.seed.notice("2025/26", "SPR1", "reading,rwm", "S1")  # what metrics writes for a lock
        async with asyncio.timeout(READ_TIMEOUT):
            while (event := await received.get()) is not None and event.event != "change":
                pass
        reading.cancel()

    assert connected.comments == ["connected"]
    assert all(e.event is None and e.comments for e in quiet)  # at most keep-alive comments
    assert event is not None
    assert (event.event, event.id, event.data) == (
        "change", lock, {"academic_year": "2025/26", "period": "SPR1", "measures": ["reading", "rwm"], "schools": ["S1"]})
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_stream_resumes_after_last_event_id_and_then_follows_new_notices(live: LiveServer) -> None:
    first = await live.seed.notice("2025/26", "AUT1", "reading", "S1")
    second = await live.seed.notice("2025/26", "AUT1", "maths,rwm", "S1,S2")
    third = await live.seed.notice("2025/26", "AUT2", "writing", "S2")

    async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client, live.stream(client, last_event_id=first) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response)
        missed = await changes(stream, 2)
        fourth = await live.seed.notice("2025/26", "AUT2", "reading", "S1")
        [new] = await changes(stream, 1)

    assert [e.id for e in missed] == [second, third]
    assert missed[0].data == {"academic_year": "2025/26", "period": "AUT1", "measures": ["maths", "rwm"],
                              "schools": ["S1", "S2"]}
    assert new.id == fourth


async def test_without_last_event_id_a_stream_starts_from_now(live: LiveServer) -> None:
    await live.seed.notice("2025/26", "AUT1", "reading", "S1")

    async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client, live.stream(client) as response:
        stream = events(response)
        async with asyncio.timeout(READ_TIMEOUT):
            connected = await anext(stream)  # the stream is open: "now" is fixed
        latest = await live.seed.notice("2025/26", "AUT2", "maths", "S2")
        [event] = await changes(stream, 1)

    assert connected.comments == ["connected"]
    assert event.id == latest


async def test_a_browser_that_accepts_gzip_gets_the_stream_uncompressed_event_by_event(live: LiveServer) -> None:
    """The gateway gzips its answers (GZipMiddleware), but a compressor would hold events back."""
    headers = {"Authorization": "Bearer viewer", "Accept-Encoding": "gzip, deflate, br"}
    async with (
        httpx.AsyncClient(timeout=READ_TIMEOUT) as client,
        client.stream("GET", f"{live.url}/v1/live", headers=headers) as response,
    ):
        stream = events(response)
        async with asyncio.timeout(READ_TIMEOUT):
            connected = await anext(stream)
        notice = await live.seed.notice("2025/26", "AUT2", "maths", "S2")
        [event] = await changes(stream, 1)

    assert response.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in response.headers
    assert connected.comments == ["connected"]
    assert (event.id, event.data["measures"]) == (notice, ["maths"])


async def test_a_school_scoped_viewer_only_hears_of_its_schools(live: LiveServer) -> None:
    start = await live.seed.notice("2025/26", "AUT1", "reading", "S1")
    await live.seed.notice("2025/26", "AUT1", "reading", "S2")
    both = await live.seed.notice("2025/26", "AUT1", "maths", "S2,S1")

    async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client, live.stream(client, "s1-viewer", start) as response:
        [event] = await changes(events(response), 1)

    assert event.id == both
    assert event.data["schools"] == ["S1"]


async def test_another_trusts_viewer_hears_nothing_and_gets_heartbeats(live: LiveServer) -> None:
    start = await live.seed.notice("2025/26", "AUT1", "reading", "S1")
    await live.seed.notice("2025/26", "AUT1", "reading", "S1")

    heard: list[Event] = []
    async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client, live.stream(client, "other-viewer", start) as response:
        async with asyncio.timeout(READ_TIMEOUT):
            async for event in events(response):
                heard.append(event)
                if "heartbeat" in event.comments:
                    break

    assert [e.event for e in heard if e.event] == []
    assert heard[-1].comments == ["heartbeat"]


async def test_a_malformed_last_event_id_is_a_422(live: LiveServer) -> None:
    async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client, live.stream(client, last_event_id="abc") as response:
        await response.aread()

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "last-event-id"]


@pytest.mark.parametrize("last_event_id", ["99999999999999999999999-0", "18446744073709551616-0", "1-18446744073709551616"])
async def test_a_last_event_id_redis_could_never_have_sent_is_a_422_naming_the_header(
    live: LiveServer, last_event_id: str
) -> None:
    """Each part of a stream id is at most 2^64 - 1; Redis refuses a larger one (it was a 500)."""
    async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client, live.stream(client, last_event_id=last_event_id) as response:
        await response.aread()

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["header", "last-event-id"]
    assert error["msg"] == "Value error, each part of a stream id is at most 18446744073709551615"


async def test_the_largest_stream_id_is_accepted(live: LiveServer) -> None:
    largest = f"{2**64 - 1}-{2**64 - 1}"

    async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client, live.stream(client, last_event_id=largest) as response:
        connected = await anext(events(response))

    assert response.status_code == 200
    assert connected.comments == ["connected"]


# ------------------------------------------------------------------ many pages, and Redis going away


def pooled_connections(client: Redis) -> tuple[int, int]:
    """(connections the client's pool holds, of which in use now)."""
    pool = client.connection_pool
    in_use = len(list(pool._get_in_use_connections()))
    return len(list(pool._get_free_connections())) + in_use, in_use


async def open_page(port: int, token: str = "viewer") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A bare SSE connection (500 of them cost the test little), read up to its `connected` comment."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    writer.write(f"GET /v1/live HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n"
                 f"Accept: text/event-stream\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    await reader.readuntil(b": connected")
    return reader, writer


PAGES = 500
VIEWER = {"Authorization": "Bearer viewer"}


async def test_500_open_live_pages_hold_one_redis_connection_and_each_hears_a_lock(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    """The live pool used to hold one connection per page (100 at most: the 101st page and every
    report then got 503). Now the Trust's one feed holds one; pages only borrow one, a bounded few
    at a time, while they open."""
    settings = gateway_settings(redis_url, prefix, live_heartbeat_seconds=5.0)
    async with serving(settings, redis) as live:
        await live.seed.school("S1", "Oak Primary")
        live_pool = live.services.read_model.live_redis
        async with asyncio.timeout(60):
            pages = await asyncio.gather(*(open_page(live.port) for _ in range(PAGES)))
        lock = await live.seed.notice("2025/26", "SPR1", "reading", "S1")
        async with asyncio.timeout(30):
            await asyncio.gather(*(reader.readuntil(f"id: {lock}".encode()) for reader, _writer in pages))
        async with asyncio.timeout(10):  # the last pages finish catching up (a read each, then none)
            while pooled_connections(live_pool)[1] > 1:
                await asyncio.sleep(0.01)
        held, in_use = pooled_connections(live_pool)  # a pool keeps what it opened: `held` is its peak
        async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client:
            schools = await client.get(f"{live.url}/v1/schools", headers=VIEWER)
        counts = (live.services.live.feeds, live.services.live.pages)
        for _reader, writer in pages:
            writer.close()

    assert counts == (1, PAGES)
    assert in_use == 1  # the feed's blocking XREAD, for all 500 pages
    assert held <= OPENING_READS + 1  # at most the pages opening at once, and the feed
    assert schools.status_code == 200  # the report connections are untouched by the pages


async def test_when_redis_goes_away_open_pages_end_and_after_it_returns_a_new_page_hears_locks_again(
    tmp_path: Path, prefix: str
) -> None:
    """A Redis of its own, stopped and started again on the same port under the open pages."""
    port = free_port()
    valkey = start_valkey(port, log_dir=tmp_path)
    try:
        redis = Redis.from_url(valkey.url, decode_responses=True)
        async with (
            serving(gateway_settings(valkey.url, prefix), redis) as live,
            httpx.AsyncClient(timeout=READ_TIMEOUT) as client,
        ):
            async with live.stream(client) as first, live.stream(client, "s1-viewer") as second:
                streams = [events(first), events(second)]
                for stream in streams:
                    async with asyncio.timeout(READ_TIMEOUT):
                        await anext(stream)  # connected
                before = await live.seed.notice("2025/26", "AUT1", "reading", "S1")
                heard_before = [await changes(stream, 1) for stream in streams]
                schools_before = await client.get(f"{live.url}/v1/schools", headers=VIEWER)  # pools a connection
                valkey.stop()  # Redis goes away under two open pages
                async with asyncio.timeout(READ_TIMEOUT):
                    rest = [[event async for event in stream] for stream in streams]  # each stream ends
            feeds_while_gone = live.services.live.feeds

            valkey = start_valkey(port, log_dir=tmp_path)  # back, empty
            await redis.connection_pool.disconnect()  # the seeder's own connection died with the server
            await live.seed.whole()  # the projections' recovery marks the read model whole again
            schools_after = await client.get(f"{live.url}/v1/schools", headers=VIEWER)  # on a dead pooled one, retried
            async with live.stream(client, "s1-viewer") as again:
                stream = events(again)
                async with asyncio.timeout(READ_TIMEOUT):
                    await anext(stream)  # connected
                after = await live.seed.notice("2025/26", "AUT2", "maths", "S1")
                [heard_after] = await changes(stream, 1)
                feeds_after = live.services.live.feeds
        await redis.aclose()
    finally:
        valkey.stop()

    assert [[event.id for event in heard] for heard in heard_before] == [[before], [before]]
    assert [[event.event for event in ended if event.event] for ended in rest] == [[], []]  # ended quietly
    assert feeds_while_gone == 0  # the feed stopped with Redis...
    assert (heard_after.id, feeds_after) == (after, 1)  # ...and the next page started a new one
    assert (schools_before.status_code, schools_after.status_code) == (200, 200)
