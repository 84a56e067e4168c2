"""The outbox relay: publishes committed events to Kafka in id order, then marks them published.

At-least-once: a crash after the broker acknowledged but before the mark re-publishes those rows,
which consumers ignore by version. Rows of one pupil share a key, hence a partition, hence order.
A row is marked published only once the broker has acknowledged it: a batch with any record not
acknowledged is left whole for the next round.

A broker that comes back without its topics (the embedded one keeps them in memory) either leaves
the producer waiting for partitions that no longer exist, or (Tansu) acknowledges records for a
topic it does not have and drops them. So the relay asks the broker whether the batch's topics
exist before it sends and again once everything is acknowledged (`missing_topics`): a topic
missing either time fails the round, and nothing is marked. While a publish waits longer than
`stall_seconds`, and after a round fails, it creates the missing topics again (`restore_topics`,
the same `ensure_topics` ingest runs at start), and the next round goes out, with no one's help.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tidemark_ingest.adapters.store import OUTBOX
from tidemark_schemas.topics import event_key

log = logging.getLogger(__name__)


class Producer(Protocol):
    """What the relay needs of a Kafka producer (aiokafka's `AIOKafkaProducer`): `send` hands a
    record over and returns what resolves when the broker has acknowledged it."""

    async def send(self, topic: str, value: bytes, key: bytes) -> Awaitable[Any]: ...


RestoreTopics = Callable[[], Awaitable[list[str]]]
"""Creates the topics the broker is missing and returns them (`tidemark_runtime.kafka.ensure_topics`)."""
MissingTopics = Callable[[set[str]], Awaitable[set[str]]]
"""Those of the topics given that the broker does not have (raises when it does not answer)."""


class TopicsMissing(RuntimeError):
    """The broker does not have a topic the batch is for: its acknowledgements are not to be trusted."""


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        producer: Producer,
        batch_size: int = 2000,
        idle_poll_seconds: float = 0.5,
        restore_topics: RestoreTopics | None = None,
        missing_topics: MissingTopics | None = None,
        stall_seconds: float = 2.0,
    ) -> None:
        self._sessions = sessions
        self._producer = producer
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._restore_topics = restore_topics
        self._missing_topics = missing_topics
        self._stall = stall_seconds
        self._wake = asyncio.Event()
        self.published = 0
        self.running = False
        """Whether `run_forever` is running (readiness: the relay is alive)."""
        self.last_error: str | None = None
        """Why the last round failed, or why the current one waits (None once a round succeeds)."""
        self.topics_restored = 0
        """Topics the relay has created again since it started (a broker that lost them)."""

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows, so they go out without waiting for a poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        self.running = True
        try:
            await self._rounds()
        finally:
            self.running = False

    async def _rounds(self) -> None:
        failures = 0
        while True:
            # Clear before reading the outbox: a commit that lands while we publish sets it again,
            # so its rows go out at once instead of after an idle poll.
            self._wake.clear()
            try:
                sent = await self.publish_pending()
                failures = 0
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                self.last_error = f"{type(error).__name__}: {error}"
                delay = min(5.0, 0.1 * 2**failures)
                log.error("outbox relay failed (%s); retrying in %.1fs", self.last_error, delay,
                          exc_info=not isinstance(error, TopicsMissing))
                await self.restore_topics()
                await asyncio.sleep(delay)
                continue
            if sent < self._batch_size:
                # `asyncio.timeout`, not `wait_for`: on Python 3.11, `wait_for` returns normally when
                # it is cancelled just as the wake-up arrives, so the relay ran on and its shutdown
                # (cancel, then await) hung.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._idle_poll):
                        await self._wake.wait()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published.

        The rows are claimed `FOR UPDATE SKIP LOCKED` for the whole publish, so several relays (one
        per ingest instance) can share the table without publishing a row twice.
        """
        query = (
            select(OUTBOX.c.id, OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.payload)
            .where(OUTBOX.c.published_at.is_(None))
            .order_by(OUTBOX.c.id)
            .limit(self._batch_size)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions() as session, session.begin():
            rows = (await session.execute(query)).all()
            await self._publish(rows)
            await self._mark(session, rows)
        self.published += len(rows)
        return len(rows)

    async def _publish(self, rows: Sequence[Row[*tuple[Any, ...]]]) -> None:
        """Until the broker has acknowledged every row, its topics there before and after; while it
        takes longer than `stall_seconds`, restore the topics a restarted broker may have lost."""
        topics = {row.topic for row in rows}
        await self._confirm(topics)
        sending = asyncio.ensure_future(self._send(rows))
        started = time.monotonic()
        try:
            while not (await asyncio.wait([sending], timeout=self._stall))[0]:
                self.last_error = (f"the broker has not acknowledged {len(rows)} events "
                                   f"in {time.monotonic() - started:.0f}s")
                await self.restore_topics()
        finally:
            sending.cancel()  # a no-op once it is done; otherwise this round failed or was cancelled
        sending.result()
        await self._confirm(topics)

    async def _confirm(self, topics: set[str]) -> None:
        if self._missing_topics is not None and topics and (missing := await self._missing_topics(topics)):
            raise TopicsMissing(f"the broker has no topic {', '.join(sorted(missing))}")

    async def _send(self, rows: Sequence[Row[*tuple[Any, ...]]]) -> None:
        deliveries = [
            await self._producer.send(row.topic, value=row.payload.encode(), key=event_key(row.key)) for row in rows
        ]
        await asyncio.gather(*deliveries)  # every record acknowledged by the broker

    async def restore_topics(self) -> list[str]:
        """Create again the topics the broker lost; never raises (a broker away is the next round's
        business). Returns the topics created."""
        if self._restore_topics is None:
            return []
        try:
            async with asyncio.timeout(10.0):
                created = await self._restore_topics()
        except Exception as error:  # noqa: BLE001  (the broker is away: try again later)
            log.warning("outbox relay: could not check the broker's topics: %s: %s", type(error).__name__, error)
            return []
        if created:
            self.topics_restored += len(created)
            log.warning("outbox relay: the broker had lost topics %s; created them again", ", ".join(created))
        return created

    @staticmethod
    async def _mark(session: AsyncSession, rows: Sequence[Row[*tuple[Any, ...]]]) -> None:
        if rows:
            await session.execute(
                update(OUTBOX).where(OUTBOX.c.id.in_([row.id for row in rows])).values(published_at=datetime.now(UTC))
            )

    async def backlog(self) -> int:
        async with self._sessions() as session:
            result = await session.execute(select(func.count()).where(OUTBOX.c.published_at.is_(None)))
            return int(result.scalar_one())

    async def oldest_unpublished_age(self) -> timedelta | None:
        """How long the oldest row not yet published has waited (None: every row is published).
        Read through the index of unpublished rows: the first by id."""
        async with self._sessions() as session:
            created = (await session.execute(
                select(OUTBOX.c.created_at).where(OUTBOX.c.published_at.is_(None)).order_by(OUTBOX.c.id).limit(1)
            )).scalar_one_or_none()
        return None if created is None else datetime.now(UTC) - created  # a timestamptz: aware
