"""The statutory process: its own consumer group over statutory results, pupils and summative
results; keeps the statutory projection (measures and progress categories) in Redis and publishes
progress category changes on `attainment.progress.v1`."""

from __future__ import annotations

import gc
import json
from typing import Any

from faststream.asgi import AsgiFastStream, AsgiResponse, get, make_ping_asgi
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.specification import AsyncAPI
from redis.asyncio import Redis

from tidemark_runtime.kafka import Backoff, backoff_middleware, batch_subscriber, ensure_topics, make_broker
from tidemark_schemas import topics
from tidemark_schemas.events import ProgressCategoryChanged
from tidemark_statutory.adapters.redis_store import StatutoryStore
from tidemark_statutory.consumer import StatutoryConsumer
from tidemark_statutory.settings import StatutorySettings


def create_app(settings: StatutorySettings | None = None) -> AsgiFastStream:
    settings = settings or StatutorySettings()
    broker: KafkaBroker = make_broker(settings, "tidemark-statutory", middlewares=[backoff_middleware(Backoff())])
    state: dict[str, Any] = {}
    progress = broker.publisher(
        topics.ATTAINMENT_PROGRESS,
        schema=ProgressCategoryChanged,
        title="attainment.progress.v1",
        description="Public notice: a pupil's progress category in one period changed (keyed by pupil id). "
        "Categories are stable ids (tidemark_schemas.progress.ProgressCategory). A `tidemark-statutory rebuild` "
        "re-categorises pupils (as after the matrix correction, when an expected starter now ABOVE became "
        "on_track_above instead of accelerated_above) without publishing here: re-read the categories from the "
        "gateway after one.",
    )

    @batch_subscriber(
        broker,
        settings,
        (topics.STATUTORY, topics.PUPILS, topics.ASSESSMENTS),
        title="statutory/tracker-events",
        description="Statutory results, pupil changes and reading / writing / maths locks: statutory measures "
        "and progress categories.",
    )
    async def on_events(message: KafkaMessage) -> None:
        await state["consumer"].handle(message.raw_message)  # the batch's ConsumerRecords

    @get
    async def status(scope: Any) -> AsgiResponse:
        consumed = dict(state["consumer"].consumed) if "consumer" in state else {}
        return AsgiResponse(json.dumps({"consumed": consumed}).encode(), 200,
                            headers={"content-type": "application/json"})

    async def start() -> None:
        if settings.kafka_create_topics:
            await ensure_topics(
                settings.kafka_bootstrap_servers,
                settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
        redis = Redis.from_url(settings.redis_url)
        state["redis"] = redis
        state["consumer"] = StatutoryConsumer(StatutoryStore(redis, settings.redis_prefix), broker, progress)
        gc.collect()
        gc.freeze()  # start-up objects live as long as the process: no full collection walks them again

    async def stop() -> None:
        if "redis" in state:
            await state["redis"].aclose()

    app = AsgiFastStream(
        broker,
        asgi_routes=[("/healthz", make_ping_asgi(broker, timeout=5.0)), ("/status", status)],
        on_startup=[start],
        after_shutdown=[stop],
        specification=AsyncAPI(title="Tidemark statutory", version="1.0.0"),
    )
    app.state_holder = state  # type: ignore[attr-defined]
    return app
