"""GET /v1/live over real HTTP (uvicorn): an SSE stream never ends, so it cannot go through the
buffering ASGI test transport."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from redis.asyncio import Redis

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.settings import GatewaySettings
from tidemark_gateway.testing import TRUST, Seeder, gateway_settings
from tidemark_runtime.embedded import LOOPBACK, free_port
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

    def stream(self, client: httpx.AsyncClient, token: str = "viewer", last_event_id: str | None = None):
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        return client.stream("GET", f"{self.url}/v1/live", headers=headers)


@contextlib.asynccontextmanager
async def serving(settings: GatewaySettings, redis: Redis) -> AsyncIterator[LiveServer]:
    """The gateway under uvicorn on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=LOOPBACK, port=port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn stopped before it started"
        await asyncio.sleep(0.01)
    try:
        yield LiveServer(f"http://{LOOPBACK}:{port}", Seeder(redis, Keyspace(settings.redis_prefix, TRUST)))
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
