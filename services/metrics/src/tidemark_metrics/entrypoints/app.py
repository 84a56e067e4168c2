"""The metrics process: a FastStream consumer group over the tracker topics, with a health route."""

from __future__ import annotations

import gc
from typing import Any

from faststream.asgi import AsgiFastStream, make_ping_asgi
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.specification import AsyncAPI
from redis.asyncio import Redis

from tidemark_metrics.adapters.redis_store import AggregateStore
from tidemark_metrics.consumer import MetricsConsumer
from tidemark_metrics.settings import MetricsSettings
from tidemark_runtime.kafka import Backoff, backoff_middleware, batch_subscriber, ensure_topics, make_broker
from tidemark_schemas import topics
from tidemark_schemas.events import AttainmentChanged


def create_app(settings: MetricsSettings | None = None) -> AsgiFastStream:
    settings = settings or MetricsSettings()
    broker: KafkaBroker = make_broker(
        settings, "tidemark-metrics", middlewares=[backoff_middleware(Backoff())]
    )
    state: dict[str, Any] = {}
    changes = broker.publisher(
        topics.ATTAINMENT_CHANGES,
        schema=AttainmentChanged,
        title="attainment.changes.v1",
        description="Public notice: figures of one Trust period changed (keyed by Trust id).",
    )

    @batch_subscriber(
        broker,
        settings,
        (topics.SCHOOLS, topics.PUPILS, topics.ASSESSMENTS),
        title="metrics/tracker-events",
        description="Applies school, pupil and assessment events to the Redis aggregates.",
    )
    async def on_tracker_events(message: KafkaMessage) -> None:
        await state["consumer"].handle(message.raw_message)  # the batch's ConsumerRecords

    async def start() -> None:
        if settings.kafka_create_topics:
            await ensure_topics(
                settings.kafka_bootstrap_servers,
                settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
        redis = Redis.from_url(settings.redis_url)
        state["redis"] = redis
        state["consumer"] = MetricsConsumer(AggregateStore(redis, settings.redis_prefix), broker, changes)
        gc.collect()
        gc.freeze()  # start-up objects live as long as the process: no full collection walks them again

    async def stop() -> None:
        if "redis" in state:
            await state["redis"].aclose()

    app = AsgiFastStream(
        broker,
        asgi_routes=[("/healthz", make_ping_asgi(broker, timeout=5.0))],
        on_startup=[start],
        after_shutdown=[stop],
        specification=AsyncAPI(title="Tidemark metrics", version="1.0.0"),
    )
    app.state_holder = state  # type: ignore[attr-defined]  (tests read the consumer's counters)
    return app
