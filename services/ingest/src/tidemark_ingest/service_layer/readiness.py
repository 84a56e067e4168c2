"""Whether ingest can do its work (`/readyz`), in the shape every service answers
(`tidemark_runtime.readiness`): PostgreSQL answers, the broker answers and has the tracker topics,
and the outbox relay is alive and not stuck (its oldest unpublished row is younger than
READY_MAX_OUTBOX_AGE_SECONDS). Liveness (`/healthz`) asks none of these: restarting ingest would
not bring a database or a broker back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tidemark_ingest.adapters.relay import OutboxRelay
from tidemark_runtime.kafka import KafkaTarget
from tidemark_runtime.readiness import Check, Throttled, broker_and_topics, failed
from tidemark_schemas.topics import TRACKER_TOPICS

TIMEOUT_SECONDS = 2.0
"""How long one check may take: a probe must answer well within its own timeout (5 s)."""


@dataclass
class Readiness:
    engine: AsyncEngine
    relay: OutboxRelay
    kafka: KafkaTarget
    max_outbox_age_seconds: float
    _broker: Throttled = field(init=False)

    def __post_init__(self) -> None:
        # An admin client per call costs a connection and a metadata round: asked again at most
        # every few seconds while the broker answers and has the topics.
        self._broker = Throttled(lambda: broker_and_topics(self.kafka, TRACKER_TOPICS, TIMEOUT_SECONDS))

    async def checks(self) -> dict[str, Check]:
        database, broker = await asyncio.gather(self._database(), self._broker())
        found = {"database": database, **broker}
        found["relay"] = await self._relay() if database["ok"] else {"ok": False, "error": "the database does not answer"}
        return found

    async def _database(self) -> Check:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001  (any failure means: not reachable)
            return failed(error)
        return {"ok": True}

    async def _relay(self) -> Check:
        """Alive (its loop runs) and not stuck: nothing has waited longer than the bound."""
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                age = await self.relay.oldest_unpublished_age()
        except Exception as error:  # noqa: BLE001
            return failed(error)
        waited = None if age is None else round(age.total_seconds(), 1)
        check: Check = {
            "ok": self.relay.running and (waited is None or waited <= self.max_outbox_age_seconds),
            "running": self.relay.running,
            "oldest_unpublished_seconds": waited,
            "max_seconds": self.max_outbox_age_seconds,
        }
        if self.relay.last_error is not None:
            check["last_error"] = self.relay.last_error
        return check
