"""Live updates (/v1/live): the change notices of the caller's schools, as they are written.

One reader per Trust per process: the first open page of a Trust starts a task (`TrustFeed`) that
follows the Trust's change stream with a blocking XREAD on the live connections and hands every
notice to each open page of that Trust in this process, through the page's own bounded queue. So
a page holds no Redis connection while it waits, however many pages are open; it reads Redis only
for a moment when it opens (where to start, and what it missed).

A page starts where it was asked to (Last-Event-ID) or at the newest notice, catches up from the
stream, then takes what the feed hands it, skipping what it has already sent: no gap and no
duplicate (`LivePage`). A page whose queue fills up (its connection does not read) is ended with a
`reconnect` event instead of holding the feed up: its browser reconnects and resumes from its last
event. The others never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import Enum

from redis.exceptions import RedisError

from tidemark_gateway.adapters.redis_reader import AggregateReader, ReadModel, StreamEntry
from tidemark_gateway.domain.live import stream_position, visible_part
from tidemark_runtime.settings import Principal
from tidemark_schemas.notices import ChangeNotice

log = logging.getLogger(__name__)

OPENING_READS = 32
"""Pages reading Redis at once while they open (where to start, what they missed): the rest wait
their turn, so that many pages reconnecting together (after a restart) stay within the live
connection pool, which also holds one connection per followed Trust."""


class PageEnd(Enum):
    """Why a page's stream ends (its browser reconnects either way, with Last-Event-ID)."""

    BEHIND = "behind"
    """The page fell `queue_size` notices behind its Trust's feed: it resumes from its last event."""
    LOST = "lost"
    """The feed lost Redis (logged once by the feed)."""


Handed = StreamEntry | PageEnd
"""What a feed puts on a page's queue."""


@dataclass(eq=False)
class PageQueue:
    """One open page as its Trust's feed sees it: who it speaks for and what was handed to it."""

    caller: Principal
    queue: asyncio.Queue[Handed]

    @property
    def scope(self) -> frozenset[str] | None:
        """The schools the caller may see (None: all): all that `visible_part` judges a notice by."""
        return self.caller.schools

    def end(self, why: PageEnd) -> None:
        """Drop what is queued (the page resumes from its last sent event) and end the page."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(why)


@dataclass(eq=False)
class TrustFeed:
    """The one reader of a Trust's change stream in this process, and the pages it hands out to."""

    stream: AggregateReader
    position: str
    """The last stream id read (at start: the opening page's starting point)."""
    block_ms: int
    batch_size: int
    pages: set[PageQueue] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    stopping: bool = False
    """Set by `stop`: the loop ends at its next turn even if redis-py swallowed the cancellation of
    its blocking read (redis/redis-py#2028: the read then returns within `block_ms`)."""

    def start(self, stopped: Callable[[TrustFeed], None]) -> None:
        self.task = asyncio.create_task(self._follow(stopped), name=f"live feed {self.stream.trust_id}")

    async def _follow(self, stopped: Callable[[TrustFeed], None]) -> None:
        try:
            while not self.stopping:
                entries = await self.stream.notices_after(self.position, self.block_ms, self.batch_size)
                for stream_id, notice in entries:
                    self.position = stream_id
                    self._hand_out(stream_id, notice)
        except RedisError as error:
            # Redis went away: end every page; browsers reconnect with Last-Event-ID (a new feed starts).
            log.warning("live updates of %s stopped: Redis is unavailable (%s); %d open page(s) will reconnect",
                        self.stream.trust_id, error, len(self.pages))
            for page in self.pages:
                page.end(PageEnd.LOST)
            self.pages.clear()
        finally:
            stopped(self)

    def _hand_out(self, stream_id: str, notice: ChangeNotice) -> None:
        """Each page gets the part of the notice it may see, if any (judged once per scope)."""
        visible: dict[frozenset[str] | None, ChangeNotice | None] = {}
        for page in list(self.pages):
            if page.scope not in visible:
                visible[page.scope] = visible_part(notice, page.caller)
            if (part := visible[page.scope]) is None:
                continue
            try:
                page.queue.put_nowait((stream_id, part))
            except asyncio.QueueFull:
                page.end(PageEnd.BEHIND)
                self.pages.discard(page)

    def stop(self) -> None:
        self.stopping = True
        if self.task is not None:
            self.task.cancel()


class LiveUpdates:
    """Every open live page of this process, through one `TrustFeed` per Trust with open pages."""

    def __init__(self, read_model: ReadModel, block_ms: int, batch_size: int, queue_size: int) -> None:
        self.read_model = read_model
        self.block_ms = block_ms
        """How long a page waits with nothing to send before it sends a heartbeat (and how long one
        blocking read of a feed waits)."""
        self.batch_size = batch_size
        """Notices read at a time."""
        self.queue_size = queue_size
        """Notices a page may fall behind its feed before it is ended (and resumes)."""
        self._feeds: dict[str, TrustFeed] = {}
        self.opening = asyncio.Semaphore(OPENING_READS)

    @property
    def feeds(self) -> int:
        """Trusts followed by this process now (one Redis reader each)."""
        return len(self._feeds)

    @property
    def pages(self) -> int:
        """Pages open in this process now."""
        return sum(len(feed.pages) for feed in self._feeds.values())

    async def follow(self, caller: Principal, after: str | None) -> LivePage:
        """Open a page: the notices the caller may see, from just after stream id `after` (or else
        from now). The starting point is fixed and the page joined to its Trust's feed when this
        returns, so nothing published after that is missed."""
        stream = self.read_model.change_stream(caller.trust_id)
        if after is None:
            async with self.opening:
                after = await stream.last_notice_id()
        position = after
        feed = self._feeds.get(caller.trust_id)
        if feed is None:  # nothing awaited since the look-up: two pages cannot start two feeds
            feed = self._feeds[caller.trust_id] = TrustFeed(stream, position, self.block_ms, self.batch_size)
            feed.start(self._stopped)
        page = PageQueue(caller, asyncio.Queue(self.queue_size))
        feed.pages.add(page)
        return LivePage(self, feed, page, stream, position)

    def _stopped(self, feed: TrustFeed) -> None:
        if self._feeds.get(feed.stream.trust_id) is feed:
            del self._feeds[feed.stream.trust_id]

    def leave(self, feed: TrustFeed, page: PageQueue) -> None:
        """A page closed: the feed stops with its last page."""
        feed.pages.discard(page)
        if not feed.pages:
            self._stopped(feed)
            feed.stop()

    async def aclose(self) -> None:
        """Stop every feed (the process is stopping), waiting at most one blocking read for them: a
        feed whose cancellation redis-py swallowed ends when that read returns (`TrustFeed.stopping`)."""
        feeds = list(self._feeds.values())
        for feed in feeds:
            feed.stop()
        tasks = [feed.task for feed in feeds if feed.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self.block_ms / 1000 + 1)


@dataclass(eq=False)
class LivePage:
    """One open page: iterate for its notices (None: nothing for a heartbeat's time; a `PageEnd`
    last when the page must reconnect), and `close()` it when the connection ends."""

    live: LiveUpdates
    feed: TrustFeed
    page: PageQueue
    stream: AggregateReader
    position: str
    """The last stream id this page has passed (sent or not visible to it)."""
    _iterator: AsyncIterator[StreamEntry | PageEnd | None] | None = None

    def __aiter__(self) -> AsyncIterator[StreamEntry | PageEnd | None]:
        if self._iterator is None:  # one iteration, however often it is resumed
            self._iterator = self._notices()
        return self._iterator

    async def _notices(self) -> AsyncIterator[StreamEntry | PageEnd | None]:
        # Catch up from the stream first: everything after `position` up to the stream's end now,
        # which is at or past where the feed stood when the page joined it; the feed hands over the rest.
        while entries := await self._missed():
            for stream_id, notice in entries:
                self.position = stream_id
                if (visible := visible_part(notice, self.page.caller)) is not None:
                    yield stream_id, visible
        passed = stream_position(self.position)
        heartbeat = self.live.block_ms / 1000
        while True:
            try:
                async with asyncio.timeout(heartbeat):
                    handed = await self.page.queue.get()
            except TimeoutError:
                yield None
                continue
            if isinstance(handed, PageEnd):
                if handed is PageEnd.BEHIND:
                    yield handed
                return
            stream_id, notice = handed
            if stream_position(stream_id) <= passed:  # already sent while catching up
                continue
            passed = stream_position(stream_id)
            self.position = stream_id
            yield stream_id, notice

    async def _missed(self) -> list[StreamEntry]:
        async with self.live.opening:
            return await self.stream.notices_after(self.position, None, self.live.batch_size)

    def close(self) -> None:
        self.live.leave(self.feed, self.page)
