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
import operator
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from aiokafka.structs import ConsumerRecord
from faststream import Context
from faststream.asgi import AsgiResponse, get, make_ping_asgi
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from tidemark_runtime.kafka import (
    Backoff,
    Rejection,
    batch_subscriber,
    broker_incarnation,
    consumer_lag,
    dead_letter_record,
    ensure_topics,
    group_positions,
    make_broker,
    parse_records,
    with_backoff,
)
from tidemark_runtime.observability import tracing
from tidemark_runtime.observability.http import ObservedAsgiFastStream
from tidemark_runtime.observability.logs import about_event
from tidemark_runtime.observability.metrics import ProjectionMetrics, at_most_every, set_consumer_lag
from tidemark_runtime.projections.engine import BatchResult, ProjectionEngine
from tidemark_runtime.projections.operations import rebuild_each, reconcile_each
from tidemark_runtime.projections.recovery import Recovery
from tidemark_runtime.projections.replay import HttpReplay
from tidemark_runtime.projections.rules import Projection
from tidemark_runtime.readiness import failed, topics_present, verdict
from tidemark_runtime.redis import RedisClient, connect
from tidemark_runtime.serve import serve
from tidemark_runtime.settings import ConsumerSettings

log = logging.getLogger(__name__)

OCCURRED_AT = operator.attrgetter("occurred_at")

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
    engine: type[ProjectionEngine] = ProjectionEngine
    """The engine that runs its rules (a projection whose rules depend on what a generation holds
    brings its own: the attendance projection's dates)."""

    def engine_on(self, redis: RedisClient, settings: ConsumerSettings) -> ProjectionEngine:
        return self.engine(redis, settings.redis_prefix, self.rules, settings.max_version_jump)

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
    """One batch's work: parse, dead-letter what is malformed, apply the rest, dead-letter what the
    engine refused as a forged version, announce. Independent of FastStream so tests can drive it
    directly."""

    engine: ProjectionEngine
    publication: Publication | None
    publish: Callable[[str, bytes, BaseModel], Any]
    """(topic, key, message) -> awaitable: the documented publisher, or the broker."""
    dead_letter: Callable[[ConsumerRecord, Any], Any]
    counts: dict[str, int] = field(
        default_factory=lambda: {"applied": 0, "dead_lettered": 0, "refused_versions": 0, "published": 0}
    )
    """Since the process started: events applied, records dead-lettered (malformed or refused),
    events refused as implausibly far ahead of their fact's version (`refused_versions`), notices
    published."""
    metrics: ProjectionMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = ProjectionMetrics.of(self.engine.rules.name)

    async def handle(self, records: Sequence[ConsumerRecord]) -> BatchResult:
        """Apply one batch. Observed once per batch (never per event): its series, one span
        continuing the trace of its first record that carries one (linked to the others), and the
        log context of its first event."""
        started = time.perf_counter()
        name = self.engine.rules.name
        parent, links = tracing.batch_context(tracing.record_traceparents(records)) if tracing.enabled() else (None, [])
        with tracing.span(f"apply {name}", SpanKind.CONSUMER, parent, links, {
            "messaging.system": "kafka", "messaging.batch.message_count": len(records), "tidemark.projection": name,
        }):
            parsed, rejected = parse_records(records)
            with about_event(*_first_event(parsed)):
                for record, rejection in rejected:
                    await self.dead_letter(record, rejection)
                self.counts["dead_lettered"] += len(rejected)
                events = [event for _record, event in parsed]
                result = await self.engine.apply(events)
                self.metrics.observe_visible(min(map(OCCURRED_AT, events), default=None))
                if result.notices:
                    # Written onto the Trusts' change streams by the same script as the figures:
                    # this marks the moment the gateway's live readers can see them.
                    with tracing.span("live notice", SpanKind.PRODUCER, attributes={
                        "messaging.system": "redis-stream", "messaging.batch.message_count": len(result.notices),
                        "tidemark.trust_ids": sorted({notice.trust_id for notice in result.notices}),
                    }):
                        pass
                self.counts["applied"] += result.applied
                if result.refused:
                    await self._refuse(parsed, result)
                if self.publication is not None:
                    await self._announce(self.publication, result)
        self.metrics.observe_batch(len(records), result.applied, len(rejected) + len(result.refused),
                                   len(result.refused), time.perf_counter() - started)
        return result

    async def _refuse(self, parsed: Sequence[tuple[ConsumerRecord, Any]], result: BatchResult) -> None:
        """Dead-letter the events refused as implausibly far ahead of their fact's version."""
        origin = {id(event): record for record, event in parsed}
        for refusal in result.refused:
            record = origin[id(refusal.event)]
            # An alert: someone who can write to the broker sent it, or ingest lost track of versions.
            log.error("refused a possibly forged event %s[%s]@%s (%s of %s): %s", record.topic, record.partition,
                      record.offset, refusal.event.event_type, refusal.event.trust_id, refusal.reason)
            await self.dead_letter(record, Rejection("version", refusal.reason))
        self.counts["refused_versions"] += len(result.refused)
        self.counts["dead_lettered"] += len(result.refused)

    async def _announce(self, publication: Publication, result: BatchResult) -> None:
        """After the write: a crash in between loses an announcement, never a figure."""
        messages = list(publication.messages(result))
        if not messages:
            return
        with tracing.span(f"announce {publication.topic}", SpanKind.PRODUCER,
                          attributes={"messaging.destination.name": publication.topic,
                                      "messaging.batch.message_count": len(messages)}):
            for key, message in messages:
                await self.publish(publication.topic, key, message)
                self.counts["published"] += 1


def _first_event(parsed: Sequence[tuple[ConsumerRecord, Any]]) -> tuple[str, str]:
    """(id, record key) of a batch's first valid event, which its log lines name."""
    if not parsed:
        return "", ""
    record, event = parsed[0]
    key = record.key.decode("utf-8", "replace") if isinstance(record.key, bytes) else str(record.key or "")
    return str(event.event_id), key


def create_app(services: Hosted, settings: ConsumerSettings | None = None) -> ObservedAsgiFastStream:
    """A consumer group per projection over its topics, with /healthz and /status (the composition
    root of a projection process)."""
    projections = hosted(services)
    settings = settings or projections[0].settings()
    broker: KafkaBroker = make_broker(settings, projections[0].client_id)
    state: dict[str, Any] = {"consumers": {}}
    starters = [_subscribe(broker, settings, service, state["consumers"]) for service in projections]

    readiness = Readiness(broker, settings, projections, state)

    async def start() -> None:
        if settings.kafka_create_topics:
            await ensure_topics(settings, settings.kafka_topic_partitions,
                                replication_factor=settings.kafka_replication_factor)
        redis = connect(settings)
        state["redis"] = redis
        for starter in starters:
            starter(redis)
        state["recoveries"] = {service.rules.name: recovery_of(service, state["consumers"][service.rules.name].engine,
                                                               settings) for service in projections}
        state["watchdogs"] = [
            asyncio.create_task(recovery.run_forever(on_broker_reset=restart_process), name=f"recovery-{name}")
            for name, recovery in state["recoveries"].items() if recovery is not None
        ] + [
            asyncio.create_task(work, name=f"background-{service.rules.name}")
            for service in projections
            for work in state["consumers"][service.rules.name].engine.background(replay_source(settings))
        ]
        settle_collector()

    async def stop() -> None:
        for watchdog in state.get("watchdogs", []):
            watchdog.cancel()
        if "redis" in state:
            await state["redis"].aclose()

    @get
    async def ready(scope: Any) -> AsgiResponse:
        """Ready when the broker answers, the topics exist, Redis takes writes, every projection's
        read model is whole (not being recovered) and its consumer group is not far behind."""
        code, body = verdict(await readiness.checks())
        return AsgiResponse(orjson.dumps(body), code, headers={"content-type": "application/json"})

    @get
    async def status(scope: Any) -> AsgiResponse:
        """What each projection's consumer has done since the process started: the process's own
        (the first) at the top level, as before it hosted several, and every one by name."""
        consumers = state["consumers"]
        first = projections[0].rules.name
        body = {"projection": first, **(consumers[first].counts if first in consumers else {}),
                "projections": {name: consumer.counts for name, consumer in consumers.items()}}
        return AsgiResponse(orjson.dumps(body), 200, headers={"content-type": "application/json"})

    app = ObservedAsgiFastStream(
        broker,
        service=projections[0].rules.name,
        refreshers=[at_most_every(settings.lag_refresh_seconds, lambda: consumer_lags(settings, projections))],
        asgi_routes=[("/healthz", make_ping_asgi(broker, timeout=5.0)), ("/readyz", ready), ("/status", status)],
        on_startup=[start],
        after_shutdown=[stop],
        specification=AsyncAPI(title=projections[0].title, version="1.0.0"),
    )
    app.state_holder = state  # type: ignore[attr-defined]  # tests read the consumers' counts
    return app


async def consumer_lags(settings: ConsumerSettings, projections: Sequence[ProjectionService]) -> None:
    """Each hosted projection's lag per partition, as the broker reports it (`tidemark_consumer_lag_records`)."""
    for service in projections:
        group = service.consumer_group or settings.consumer_group
        set_consumer_lag(service.rules.name, await group_positions(settings, group, service.topics))


def replay_source(settings: ConsumerSettings) -> Callable[[], HttpReplay] | None:
    """What opens ingest's replay (None without REPLAY_TOKEN)."""
    if settings.replay_token is None:
        return None
    token = settings.replay_token.get_secret_value()
    return lambda: HttpReplay(settings.ingest_url, token)


def recovery_of(service: ProjectionService, engine: ProjectionEngine, settings: ConsumerSettings) -> Recovery | None:
    """The watchdog of one hosted projection (None without REPLAY_TOKEN: it could not rebuild)."""
    if settings.replay_token is None:
        log.warning("%s: no REPLAY_TOKEN: a read model lost from Redis, or events lost by the broker, will not be "
                    "rebuilt by itself", service.rules.name)
        return None
    token = settings.replay_token.get_secret_value()
    group = service.consumer_group or settings.consumer_group
    return Recovery(
        engine,
        incarnation=lambda: broker_incarnation(settings),
        source=lambda: HttpReplay(settings.ingest_url, token),
        positions=lambda: group_positions(settings, group, service.topics),
        interval=settings.recovery_interval_seconds,
    )


def restart_process() -> None:
    """Stop this process, to be started again (by the stack runner, compose or Kubernetes) with a
    fresh consumer: a broker that lost its events lost the consumer group's place too."""
    os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class Readiness:
    """What /readyz checks. The broker and Redis are asked at every call; the topics and the
    consumer groups' lag, which cost a round of admin requests, at most every few seconds."""

    broker: KafkaBroker
    settings: ConsumerSettings
    projections: tuple[ProjectionService, ...]
    state: dict[str, Any]
    slow_every: float = 5.0
    _slow: dict[str, dict[str, Any]] = field(default_factory=dict)
    _slow_at: float = 0.0

    async def checks(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        try:
            async with asyncio.timeout(2.0):
                broker_ok = bool(await self.broker.ping(timeout=2.0))
        except Exception:  # noqa: BLE001  (any failure means: not reachable)
            broker_ok = False
        found["broker"] = {"ok": broker_ok}
        found["redis"] = {"ok": await self._redis_writable()}
        for name, recovery in self.state.get("recoveries", {}).items():
            state = recovery.state if recovery is not None else "ok"
            found[f"{name}.read_model"] = {"ok": state == "ok", "state": state}
        if broker_ok:
            found |= await self._slow_checks()
        return found

    async def _redis_writable(self) -> bool:
        redis = self.state.get("redis")
        if redis is None:
            return False
        try:
            async with asyncio.timeout(2.0):
                # Under the process's own projection's prefix: the only keys its Redis user may write.
                prefix = self.projections[0].rules.keyspace(self.settings.redis_prefix, "").prefix
                await redis.set(f"{prefix}:ready-probe:{os.getpid()}", "1", ex=30)
            return True
        except Exception:  # noqa: BLE001
            return False

    async def _slow_checks(self) -> dict[str, dict[str, Any]]:
        if time.monotonic() - self._slow_at < self.slow_every and self._slow:
            return self._slow
        found: dict[str, dict[str, Any]] = {}
        bootstrap = self.settings
        try:
            async with asyncio.timeout(5.0):
                found["topics"] = await topics_present(bootstrap, {t for p in self.projections for t in p.topics})
                for service in self.projections:
                    group = service.consumer_group or self.settings.consumer_group
                    lag = await consumer_lag(bootstrap, group, service.topics)
                    found[f"{service.rules.name}.lag"] = {"ok": lag <= self.settings.ready_max_lag, "records": lag}
        except Exception as error:  # noqa: BLE001
            found["topics"] = failed(error)
        self._slow, self._slow_at = found, time.monotonic()
        return found


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
            service.engine_on(redis, settings),
            publication,
            # (called only with a publication) the current trace context travels on in the headers
            publish=lambda _topic, key, message: publisher.publish(  # type: ignore[union-attr]
                message, key=key, headers=tracing.message_headers()),
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
    chosen = [service for service in projections if not args.projection or service.rules.name in args.projection]
    return asyncio.run(_operate(chosen, settings, args))


async def _operate(projections: Iterable[ProjectionService], settings: ConsumerSettings, args: argparse.Namespace) -> int:
    status = 0
    redis = connect(settings)
    try:
        for service in projections:
            print(f"{service.rules.name}:", flush=True)
            status = max(status, await _operate_one(service.engine_on(redis, settings), settings, args))
    finally:
        await redis.aclose()
    return status


async def _operate_one(engine: ProjectionEngine, settings: ConsumerSettings, args: argparse.Namespace) -> int:
    if settings.replay_token is None:
        if args.command == "reconcile":
            print("(no REPLAY_TOKEN: the counters are checked against the pupil states only, not against the "
                  "SQL store)", flush=True)
            return await reconcile_each(engine, args.trust_id or await engine.trusts())
        print("rebuild needs REPLAY_TOKEN (and INGEST_URL): it reads ingest's replay", flush=True)
        return 2
    source = HttpReplay(settings.ingest_url, settings.replay_token.get_secret_value())
    try:
        if args.command == "reconcile":
            return await reconcile_each(engine, args.trust_id or await engine.trusts(), source)
        trust_ids = args.trust_id or await source.trust_ids()
        return await rebuild_each(engine, trust_ids, source, args.grace_seconds, args.keep_previous)
    finally:
        await source.close()
