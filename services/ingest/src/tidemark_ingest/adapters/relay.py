"""The outbox relay: publishes committed events to Kafka in id order, then marks them published.

At-least-once: a crash after the broker acknowledged but before the mark re-publishes those rows,
which consumers ignore by version. Rows of one pupil share a key, hence a partition, hence order.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

from opentelemetry.trace import SpanKind

from tidemark_ingest.adapters.store import OUTBOX
from tidemark_runtime.observability import tracing
from tidemark_runtime.observability.metrics import OUTBOX_PUBLISHED
from tidemark_schemas.topics import event_key

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        producer: AIOKafkaProducer,
        batch_size: int = 2000,
        idle_poll_seconds: float = 0.5,
    ) -> None:
        self._sessions = sessions
        self._producer = producer
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._wake = asyncio.Event()
        self.published = 0

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows, so they go out without waiting for a poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        failures = 0
        while True:
            # Clear before reading the outbox: a commit that lands while we publish sets it again,
            # so its rows go out at once instead of after an idle poll.
            self._wake.clear()
            try:
                sent = await self.publish_pending()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                delay = min(5.0, 0.1 * 2**failures)
                log.exception("outbox relay failed; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                continue
            if sent < self._batch_size:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._idle_poll)
                except TimeoutError:
                    pass

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published.

        The rows are claimed `FOR UPDATE SKIP LOCKED` for the whole publish, so several relays (one
        per ingest instance) can share the table without publishing a row twice.
        """
        query = (
            select(OUTBOX.c.id, OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.payload, OUTBOX.c.traceparent)
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
        OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)

    async def _publish(self, rows: list) -> None:  # type: ignore[type-arg]
        """Each record carries the trace context its row was stored with (one span for the batch,
        in the first row's trace, linked to the others)."""
        if not rows:
            return
        parent, links = tracing.batch_context(row.traceparent for row in rows) if tracing.enabled() else (None, [])
        with tracing.span("relay outbox", SpanKind.PRODUCER, parent, links, {"messaging.batch.message_count": len(rows)}):
            deliveries = [
                await self._producer.send(row.topic, value=row.payload.encode(), key=event_key(row.key),
                                          headers=tracing.record_headers(row.traceparent))
                for row in rows
            ]
            await asyncio.gather(*deliveries)  # every record acknowledged by the broker

    @staticmethod
    async def _mark(session: AsyncSession, rows: list) -> None:  # type: ignore[type-arg]
        if rows:
            await session.execute(
                update(OUTBOX).where(OUTBOX.c.id.in_([row.id for row in rows])).values(published_at=datetime.now(UTC))
            )

    async def outbox_state(self) -> tuple[int, datetime | None]:
        """(unpublished rows, when the next of them to go out, the lowest id, was stored): both read
        through the partial index of unpublished rows, like the relay's own scan."""
        async with self._sessions() as session:
            from sqlalchemy import func

            unpublished = OUTBOX.c.published_at.is_(None)
            count = (await session.execute(select(func.count()).where(unpublished))).scalar_one()
            oldest = (await session.execute(
                select(OUTBOX.c.created_at).where(unpublished).order_by(OUTBOX.c.id).limit(1))).scalar_one_or_none()
            return int(count), oldest

    async def backlog(self) -> int:
        async with self._sessions() as session:
            from sqlalchemy import func

            result = await session.execute(select(func.count()).where(OUTBOX.c.published_at.is_(None)))
            return int(result.scalar_one())
