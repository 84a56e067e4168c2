"""The statutory process: its own consumer group over statutory results, pupils and summative locks.

Its rules (eligibility, KS1/KS2/EYFS/phonics/MTC measures, progress categories) arrive with the
statutory issue; today it validates what it consumes, dead-letters malformed events and reports
health, so the topology and the contracts are real from day one.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from faststream.asgi import AsgiFastStream, AsgiResponse, get, make_ping_asgi
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.specification import AsyncAPI

from tidemark_runtime.kafka import (
    batch_subscriber,
    Backoff,
    backoff_middleware,
    dead_letter_record,
    ensure_topics,
    make_broker,
    rejection_from,
)
from tidemark_schemas import topics
from tidemark_schemas.events import parse_tracker_event
from tidemark_statutory.settings import StatutorySettings

log = logging.getLogger(__name__)


def create_app(settings: StatutorySettings | None = None) -> AsgiFastStream:
    settings = settings or StatutorySettings()
    broker: KafkaBroker = make_broker(settings, "tidemark-statutory", middlewares=[backoff_middleware(Backoff())])
    consumed: Counter[str] = Counter()

    @batch_subscriber(
        broker,
        settings,
        (topics.STATUTORY, topics.PUPILS, topics.ASSESSMENTS),
        title="statutory/tracker-events",
        description="Statutory results, pupil changes and summative locks (rules to come).",
    )
    async def on_events(message: KafkaMessage) -> None:
        for record in message.raw_message:
            try:
                event = parse_tracker_event(record.value)
            except Exception as error:
                await dead_letter_record(broker, record, rejection_from(error), "tidemark-statutory")
                consumed["dead_lettered"] += 1
                continue
            consumed[event.event_type] += 1

    @get
    async def status(scope: Any) -> AsgiResponse:
        import json

        return AsgiResponse(json.dumps({"consumed": dict(consumed)}).encode(), 200, headers={"content-type": "application/json"})

    async def start() -> None:
        if settings.kafka_create_topics:
            await ensure_topics(
                settings.kafka_bootstrap_servers,
                settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )

    return AsgiFastStream(
        broker,
        asgi_routes=[("/healthz", make_ping_asgi(broker, timeout=5.0)), ("/status", status)],
        on_startup=[start],
        specification=AsyncAPI(title="Tidemark statutory", version="1.0.0"),
    )
