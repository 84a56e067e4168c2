"""Ingest's composition root: from settings, the adapters (the SQL store's engine and sessions, the
Kafka producer and the outbox relay, the principal lookup) and the use cases over them (and what
answers `/readyz`).

The app's lifespan builds ingest here (so `tidemark-ingest` does, through the app), `tidemark-ingest
migrate` migrates the store it names, and the tests build ingest here too; nothing else wires it.
A test may hand in its own producer (a stand-in for the broker).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from tidemark_ingest.adapters.database import create_engine, session_factory
from tidemark_ingest.adapters.import_store import ImportStore
from tidemark_ingest.adapters.relay import MissingTopics, OutboxRelay, Producer
from tidemark_ingest.migrations import require_head, upgrade_to_head
from tidemark_ingest.service_layer.attendance import Attendance
from tidemark_ingest.service_layer.calendar import TrustCalendars
from tidemark_ingest.service_layer.imports import Imports
from tidemark_ingest.service_layer.readiness import Readiness
from tidemark_ingest.service_layer.replay import Replay
from tidemark_ingest.service_layer.entry import Entry
from tidemark_ingest.service_layer.tracker import Tracker
from tidemark_ingest.settings import IngestSettings
from tidemark_identity.lookup import Lookup
from tidemark_identity.service import Identity
from tidemark_runtime.auth import PrincipalLookup
from tidemark_runtime.kafka import ensure_topics, producer_options
from tidemark_schemas.calendar import PeriodCalendar


@dataclass(frozen=True, slots=True)
class Services:
    """Ingest, built and running: its use cases and the adapters they share."""

    principals: PrincipalLookup
    """API keys and sessions from the SQL store (`tidemark_identity`), and the TIDEMARK_TOKENS fallback."""
    identity: Identity
    """The accounts and the audit trail, where each batch, lock and unlock is recorded."""
    replay_token: SecretStr | None
    """The shared secret of the replay routes (`REPLAY_TOKEN`); None: no replay is served."""
    engine: AsyncEngine
    relay: OutboxRelay
    tracker: Tracker
    replay: Replay
    readiness: Readiness
    attendance: Attendance
    entry: Entry
    """What the web UI's Entry pages read back: a school's sheets of entered results."""
    imports: Imports
    """Bulk imports of CSV and Excel files, run as background tasks of this process."""
    calendars: TrustCalendars
    """The Trust's own school dates (`PUT /v1/calendar/{academic_year}`)."""


@contextlib.asynccontextmanager
async def bootstrap(settings: IngestSettings, *, producer: Producer | None = None) -> AsyncIterator[Services]:
    """Ingest, running: on a SQL store at the head schema (refused otherwise: migrating is the
    prestart step's job), with its outbox relay publishing through `producer`, or through a Kafka
    producer made from the settings (the topics created first when KAFKA_CREATE_TOPICS, and again by
    the relay when the broker has lost them). On exit, everything it started stops: the relay, the
    producer it made, the engine."""
    async with contextlib.AsyncExitStack() as started:
        engine = create_engine(settings.database_url)
        started.push_async_callback(engine.dispose)
        await require_head(engine)
        missing: MissingTopics | None = None
        if producer is None:
            kafka = await started.enter_async_context(kafka_producer(settings))
            producer, missing = kafka, functools.partial(topics_missing, kafka)
        sessions = session_factory(engine)
        relay = OutboxRelay(
            sessions, producer, settings.relay_batch_size, settings.relay_idle_poll_seconds,
            restore_topics=functools.partial(create_topics, settings) if settings.kafka_create_topics else None,
            missing_topics=missing,
        )
        relaying = asyncio.create_task(relay.run_forever(), name="outbox-relay")
        started.push_async_callback(_stop, relaying)
        identity = Identity.on(engine)
        tracker = Tracker(sessions, PeriodCalendar(settings.assessment_periods), relay.wake)
        imports = Imports(tracker, identity, ImportStore(sessions), settings.import_max_rows)
        started.push_async_callback(imports.stop)
        yield Services(
            principals=Lookup(identity, settings.tidemark_tokens),
            identity=identity,
            replay_token=settings.replay_token,
            engine=engine,
            relay=relay,
            tracker=tracker,
            replay=Replay(engine),
            readiness=Readiness(engine, relay, settings, settings.ready_max_outbox_age_seconds),
            attendance=Attendance(tracker),
            entry=Entry(sessions, tracker.calendar),
            imports=imports,
            calendars=TrustCalendars(tracker),
        )


@contextlib.asynccontextmanager
async def kafka_producer(settings: IngestSettings) -> AsyncIterator[AIOKafkaProducer]:
    """The relay's producer, started (and the tracker topics created when KAFKA_CREATE_TOPICS)."""
    if settings.kafka_create_topics:
        await create_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="tidemark-ingest-relay",
        linger_ms=5,  # the relay sends a batch of rows at once: let them share requests
        **producer_options(settings),
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def create_topics(settings: IngestSettings) -> list[str]:
    """Create the topics the broker is missing (at start, and when a broker came back without them);
    returns those it created."""
    return await ensure_topics(
        settings, settings.kafka_topic_partitions,
        replication_factor=settings.kafka_replication_factor,
    )


async def topics_missing(producer: AIOKafkaProducer, topics: set[str]) -> set[str]:
    """Those of `topics` the broker does not have, asked over the producer's own connection."""
    metadata = await producer.client.fetch_all_metadata()
    return topics - set(metadata.topics())


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it has finished (its own cancellation is not raised here; one of
    the caller's is)."""
    task.cancel()
    await asyncio.wait([task])


async def migrate(settings: IngestSettings) -> str | None:
    """Bring the SQL store (DATABASE_URL) to the head schema (`tidemark-ingest migrate`); returns the
    revision it was at before."""
    engine = create_engine(settings.database_url)
    try:
        return await upgrade_to_head(engine)
    finally:
        await engine.dispose()
