"""The statutory consumer's work for one batch: parse, dead-letter what is malformed, apply the
rest to the statutory projection, and publish every progress category that changed.
Independent of FastStream so tests can drive it directly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from tidemark_runtime.kafka import dead_letter_record, parse_batch
from tidemark_schemas import topics
from tidemark_statutory.adapters.redis_store import BatchResult, StatutoryStore


class StatutoryConsumer:
    def __init__(self, store: StatutoryStore, broker: KafkaBroker, progress: Any | None = None) -> None:
        self._store = store
        self._broker = broker
        self._progress = progress  # the documented publisher of attainment.progress.v1, if any
        self.consumed: Counter[str] = Counter()

    async def handle(self, records: Sequence[ConsumerRecord]) -> BatchResult:
        events, rejected = parse_batch(records)
        for record, rejection in rejected:
            await dead_letter_record(self._broker, record, rejection, "tidemark-statutory")
        self.consumed["dead_lettered"] += len(rejected)
        self.consumed.update(event.event_type for event in events)
        result = await self._store.apply(events)
        self.consumed["applied"] += result.applied
        for change in result.progress_changes:  # after the write: a crash in between loses a notice, never a figure
            key = change.pupil_id.encode()
            if self._progress is not None:
                await self._progress.publish(change, key=key)
            else:
                await self._broker.publish(change, topics.ATTAINMENT_PROGRESS, key=key)
        self.consumed["progress_changes"] += len(result.progress_changes)
        return result
