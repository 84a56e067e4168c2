"""A projection as a process: the consumer group that feeds the engine, its health route and its
command line (`serve`, `reconcile`, `rebuild`). Each projection service declares a
`ProjectionService` (its rules, the topics it consumes, what it publishes) and calls `main`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from aiokafka.structs import ConsumerRecord
from faststream import Context
from faststream.asgi import AsgiFastStream, AsgiResponse, get, make_ping_asgi
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from tidemark_runtime.kafka import Backoff, backoff_middleware, batch_subscriber, dead_letter_record, ensure_topics, make_broker, parse_batch
from tidemark_runtime.projections.engine import BatchResult, ProjectionEngine
from tidemark_runtime.projections.operations import rebuild_each, reconcile_each
from tidemark_runtime.projections.replay import HttpReplay
from tidemark_runtime.projections.rules import Projection
from tidemark_runtime.redis import connect
from tidemark_runtime.serve import serve
from tidemark_runtime.settings import ConsumerSettings

log = logging.getLogger(__name__)

Records = Annotated[list[ConsumerRecord], Context("message.raw_message", cast=False)]
"""A consumed batch's records as they came (each consumer parses them once, `kafka.parse_batch`)."""


@dataclass(frozen=True)
class Publication:
    """The public topic a projection announces on, and what it says after each batch."""

    topic: str
    schema: type[BaseModel]
    description: str
    messages: Callable[[BatchResult], Iterable[tuple[bytes, BaseModel]]]
    """(key, message) for each announcement of a batch's result."""


@dataclass(frozen=True)
class ProjectionService:
    """Everything that makes a projection a service besides its rules."""

    rules: Projection
    title: str
    topics: tuple[str, ...]
    """The tracker topics it consumes."""
    publication: Publication
    settings: type[ConsumerSettings]
    description: str = ""


@dataclass
class ProjectionConsumer:
    """One batch's work: parse, dead-letter what is malformed, apply the rest, announce.
    Independent of FastStream so tests can drive it directly."""

    engine: ProjectionEngine
    publication: Publication
    publish: Callable[[str, bytes, BaseModel], Any]
    """(topic, key, message) -> awaitable: the documented publisher, or the broker."""
    dead_letter: Callable[[ConsumerRecord, Any], Any]
    counts: dict[str, int] = field(default_factory=lambda: {"applied": 0, "dead_lettered": 0, "published": 0})

    async def handle(self, records: Sequence[ConsumerRecord]) -> BatchResult:
        events, rejected = parse_batch(records)
        for record, rejection in rejected:
            await self.dead_letter(record, rejection)
        self.counts["dead_lettered"] += len(rejected)
        result = await self.engine.apply(events)
        self.counts["applied"] += result.applied
        # After the write: a crash in between loses an announcement, never a figure.
        for key, message in self.publication.messages(result):
            await self.publish(self.publication.topic, key, message)
            self.counts["published"] += 1
        return result


def create_app(service: ProjectionService, settings: ConsumerSettings | None = None) -> AsgiFastStream:
    """The projection's consumer group over its topics, with /healthz (the composition root of a
    projection process)."""
    settings = settings or service.settings()
    client_id = f"tidemark-{service.rules.name}"
    broker: KafkaBroker = make_broker(settings, client_id, middlewares=[backoff_middleware(Backoff())])
    publisher = broker.publisher(
        service.publication.topic, schema=service.publication.schema, title=service.publication.topic,
        description=service.publication.description,
    )
    state: dict[str, Any] = {}

    @batch_subscriber(broker, settings, service.topics, title=f"{service.rules.name}/tracker-events",
                      description=service.description)
    async def on_tracker_events(records: Records) -> None:
        await state["consumer"].handle(records)

    async def start() -> None:
        if settings.kafka_create_topics:
            await ensure_topics(settings.kafka_bootstrap_servers, settings.kafka_topic_partitions,
                                replication_factor=settings.kafka_replication_factor)
        redis = connect(settings)
        state["redis"] = redis
        state["consumer"] = ProjectionConsumer(
            ProjectionEngine(redis, settings.redis_prefix, service.rules),
            service.publication,
            publish=lambda _topic, key, message: publisher.publish(message, key=key),
            dead_letter=lambda record, rejection: dead_letter_record(broker, record, rejection, client_id),
        )
        gc.collect()
        gc.freeze()  # start-up objects live as long as the process: no full collection walks them again

    async def stop() -> None:
        if "redis" in state:
            await state["redis"].aclose()

    @get
    async def status(scope: Any) -> AsgiResponse:
        """What the consumer has done since it started."""
        counts = state["consumer"].counts if "consumer" in state else {}
        return AsgiResponse(orjson.dumps({"projection": service.rules.name, **counts}), 200,
                            headers={"content-type": "application/json"})

    app = AsgiFastStream(
        broker,
        asgi_routes=[("/healthz", make_ping_asgi(broker, timeout=5.0)), ("/status", status)],
        on_startup=[start],
        after_shutdown=[stop],
        specification=AsyncAPI(title=service.title, version="1.0.0"),
    )
    app.state_holder = state  # type: ignore[attr-defined]  # tests read the consumer's counts
    return app


def main(service: ProjectionService, argv: list[str] | None = None, doc: str | None = None) -> int:
    """The service's command line: serve (the default), or operate on its projection."""
    parser = argparse.ArgumentParser(prog=f"tidemark-{service.rules.name}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    check = commands.add_parser("reconcile", help="check every counter against the per-pupil states")
    check.add_argument("--trust-id", action="append", default=[], help="a Trust (default: every Trust found)")
    again = commands.add_parser("rebuild", help="recompute from ingest's replay into a fresh generation, then switch")
    again.add_argument("--trust-id", action="append", default=[], help="a Trust (default: every Trust in the store)")
    again.add_argument("--keep-previous", action="store_true", help="do not delete the previous generation")
    again.add_argument("--grace-seconds", type=float, default=5.0,
                       help="wait this long after the switch before deleting the previous generation (default 5)")
    args = parser.parse_args(argv)
    settings = service.settings()
    if args.command is None:
        serve(create_app(service, settings), settings)
        return 0
    return asyncio.run(_operate(service.rules, settings, args))


async def _operate(rules: Projection, settings: ConsumerSettings, args: argparse.Namespace) -> int:
    redis = connect(settings)
    engine = ProjectionEngine(redis, settings.redis_prefix, rules)
    try:
        if args.command == "reconcile":
            return await reconcile_each(engine, args.trust_id or await engine.trusts())
        if settings.replay_token is None:
            print("rebuild needs REPLAY_TOKEN (and INGEST_URL): it reads ingest's replay", flush=True)
            return 2
        source = HttpReplay(settings.ingest_url, settings.replay_token.get_secret_value())
        try:
            trust_ids = args.trust_id or await source.trust_ids()
            return await rebuild_each(engine, trust_ids, source, args.grace_seconds, args.keep_previous)
        finally:
            await source.close()
    finally:
        await redis.aclose()
