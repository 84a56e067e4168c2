"""The metrics consumer's work for one batch: parse, dead-letter what is malformed, apply the rest,
and announce which figures changed. Independent of FastStream so tests can drive it directly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from tidemark_metrics.adapters.redis_store import AggregateStore, BatchResult
from tidemark_runtime.kafka import Rejection, dead_letter_record, parse_batch
from tidemark_schemas import topics
from tidemark_schemas.events import AttainmentChanged

log = logging.getLogger(__name__)

DeadLetter = Callable[[ConsumerRecord, Rejection], Awaitable[None]]


class MetricsConsumer:
    def __init__(self, store: AggregateStore, broker: KafkaBroker, changes: Any | None = None) -> None:
        self._store = store
        self._broker = broker
        self._changes = changes  # the documented publisher of attainment.changes.v1, if any
        self.applied_events = 0

    async def handle(self, records: Sequence[ConsumerRecord]) -> BatchResult:
        events, rejected = parse_batch(records)
        for record, rejection in rejected:
            await dead_letter_record(self._broker, record, rejection, "tidemark-metrics")
        result = await self._store.apply(events)
        self.applied_events += result.applied
        await self._announce(result)
        return result

    async def _announce(self, result: BatchResult) -> None:
        """Public change notices, each keyed by its own Trust (best effort: the figures themselves
        are already consistent)."""
        for change in result.notices:
            notice = AttainmentChanged(
                trust_id=change.trust_id,
                academic_year=change.academic_year,
                period=change.period,
                measures=list(change.measures),
                schools=list(change.schools),
                applied_events=result.applied,
            )
            if self._changes is not None:
                await self._changes.publish(notice, key=change.trust_id.encode())
            else:
                await self._broker.publish(notice, topics.ATTAINMENT_CHANGES, key=change.trust_id.encode())
