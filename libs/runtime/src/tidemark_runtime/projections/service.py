"""Projections as a process: the consumer groups that feed the engine, the health and status
routes, and the command line (`serve`, `reconcile`, `rebuild`). Each projection declares a
`ProjectionService` (its rules, the topics it consumes, its consumer group, what it publishes);
one process may host several (the metrics process runs the attainment and the attendance
projections), each with its own subscriber and consumer group, sharing the broker connection
and Redis.
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

from tidemark_runtime.kafka import Backoff, batch_subscriber, dead_letter_record, ensure_topics, make_broker, parse_batch, with_backoff
from tidemark_runtime.projections.engine import BatchResult, ProjectionEngine
from tidemark_runtime.projections.operations import rebuild_each, reconcile_each
from tidemark_runtime.projections.replay import HttpReplay
from tidemark_runtime.projections.rules import Projection
from tidemark_runtime.redis import RedisClient, connect
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
    publication: Publication | None
    """The public topic it announces on (None: it announces only on the change stream)."""
    settings: type[ConsumerSettings]
    description: str = ""
    consumer_group: str | None = None
    """Its consumer group; None: the process's `CONSUMER_GROUP` setting (the projection a process
    is named after)."""

    @property
    def client_id(self) -> str:
        """Who the projection is to the broker and in dead-letter headers (`x-rejected-by`)."""
        return f"tidemark-{self.rules.name}"


Hosted = ProjectionService | Sequence[ProjectionService]
"""One projection, or the projections one process hosts (the first names the process)."""


def hosted(services: Hosted) -> tuple[ProjectionService, ...]:
    found = (services,) if isinstance(services, ProjectionService) else tuple(services)
    if not found:
        raise ValueError("a projection process hosts at least one projection")
    return found


@dataclass
class ProjectionConsumer:
    """One batch's work: parse, dead-letter what is malformed, apply the rest, announce.
    Independent of FastStream so tests can drive it directly."""

    engine: ProjectionEngine
    publication: Publication | None
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
        if self.publication is None:
            return result
        # After the write: a crash in between loses an announcement, never a figure.
        for key, message in self.publication.messages(result):
            await self.publish(self.publication.topic, key, message)
            self.counts["published"] += 1
        return result


def create_app(services: Hosted, settings: ConsumerSettings | None = None) -> AsgiFastStream:
    """A consumer group per projection over its topics, with /healthz and /status (the composition
    root of a projection process)."""
    projections = hosted(services)
    settings = settings or projections[0].settings()
    broker: KafkaBroker = make_broker(settings, projections[0].client_id)
    state: dict[str, Any] = {"consumers": {}}
    starters = [_subscribe(broker, settings, service, state["consumers"]) for service in projections]

    async def start() -> None:
        if settings.kafka_create_topics:
            await ensure_topics(settings.kafka_bootstrap_servers, settings.kafka_topic_partitions,
                                replication_factor=settings.kafka_replication_factor)
        redis = connect(settings)
        state["redis"] = redis
        for starter in starters:
            starter(redis)
        settle_collector()

    async def stop() -> None:
        if "redis" in state:
            await state["redis"].aclose()

    @get
    async def status(scope: Any) -> AsgiResponse:
        """What each projection's consumer has done since the process started: the process's own
        (the first) at the top level, as before it hosted several, and every one by name."""
        consumers = state["consumers"]
        first = projections[0].rules.name
        body = {"projection": first, **(consumers[first].counts if first in consumers else {}),
                "projections": {name: consumer.counts for name, consumer in consumers.items()}}
        return AsgiResponse(orjson.dumps(body), 200, headers={"content-type": "application/json"})

    app = AsgiFastStream(
        broker,
        asgi_routes=[("/healthz", make_ping_asgi(broker, timeout=5.0)), ("/status", status)],
        on_startup=[start],
        after_shutdown=[stop],
        specification=AsyncAPI(title=projections[0].title, version="1.0.0"),
    )
    app.state_holder = state  # type: ignore[attr-defined]  # tests read the consumers' counts
    return app


YOUNG_GENERATION = 20_000
"""Allocations between two collections of the young generation (CPython's default is 700): a batch
builds tens of thousands of short-lived containers, and collecting every 700 of them cost a tenth
of a projection's time (`bench/attendance.py`)."""


def settle_collector() -> None:
    """Tune the garbage collector for a consumer: start-up objects live as long as the process, so
    freeze them (no full collection walks them again), and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)


def _subscribe(
    broker: KafkaBroker, settings: ConsumerSettings, service: ProjectionService, consumers: dict[str, ProjectionConsumer]
) -> Callable[[RedisClient], None]:
    """Declare one projection's subscriber (and publisher); returns what builds its consumer once
    Redis is connected."""
    name = service.rules.name
    publication = service.publication
    publisher = None if publication is None else broker.publisher(
        publication.topic, schema=publication.schema, title=publication.topic, description=publication.description,
    )
    backoff = Backoff()

    @batch_subscriber(broker, settings, service.topics, title=f"{name}/tracker-events", description=service.description,
                      group_id=service.consumer_group)
    async def on_tracker_events(records: Records) -> None:
        await with_backoff(backoff, consumers[name].handle(records))

    def build(redis: RedisClient) -> None:
        consumers[name] = ProjectionConsumer(
            ProjectionEngine(redis, settings.redis_prefix, service.rules),
            publication,
            publish=lambda _topic, key, message: publisher.publish(message, key=key),  # type: ignore[union-attr]
            dead_letter=lambda record, rejection: dead_letter_record(broker, record, rejection, service.client_id),
        )

    return build


def main(services: Hosted, argv: list[str] | None = None, doc: str | None = None) -> int:
    """The process's command line: serve every projection it hosts (the default), or operate on
    them (`--projection NAME`, repeatable; default: all)."""
    projections = hosted(services)
    names = [service.rules.name for service in projections]
    parser = argparse.ArgumentParser(prog=projections[0].client_id, description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    check = commands.add_parser("reconcile", help="check every counter against the per-pupil states")
    check.add_argument("--trust-id", action="append", default=[], help="a Trust (default: every Trust found)")
    again = commands.add_parser("rebuild", help="recompute from ingest's replay into a fresh generation, then switch")
    again.add_argument("--trust-id", action="append", default=[], help="a Trust (default: every Trust in the store)")
    again.add_argument("--keep-previous", action="store_true", help="do not delete the previous generation")
    again.add_argument("--grace-seconds", type=float, default=5.0,
                       help="wait this long after the switch before deleting the previous generation (default 5)")
    for command in (check, again):
        command.add_argument("--projection", action="append", choices=names, default=[],
                             help=f"a projection this process hosts ({', '.join(names)}; default: all)")
    args = parser.parse_args(argv)
    settings = projections[0].settings()
    if args.command is None:
        serve(create_app(projections, settings), settings)
        return 0
    chosen = [service.rules for service in projections if not args.projection or service.rules.name in args.projection]
    return asyncio.run(_operate(chosen, settings, args))


async def _operate(projections: Iterable[Projection], settings: ConsumerSettings, args: argparse.Namespace) -> int:
    status = 0
    redis = connect(settings)
    try:
        for rules in projections:
            print(f"{rules.name}:", flush=True)
            status = max(status, await _operate_one(ProjectionEngine(redis, settings.redis_prefix, rules), settings, args))
    finally:
        await redis.aclose()
    return status


async def _operate_one(engine: ProjectionEngine, settings: ConsumerSettings, args: argparse.Namespace) -> int:
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
