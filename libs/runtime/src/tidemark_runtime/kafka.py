"""Kafka policy in one place: topic creation, the producer, and how consumers ack, retry and dead-letter.

Delivery is at-least-once everywhere and every effect is idempotent (version guards), so:
- consumers start from the earliest offset (a new group must not skip history) and commit only
  after a batch is applied (`NACK_ON_ERROR`: a failing batch is re-read from its first record);
- a transient failure (Redis away, say) is retried after a capped exponential back-off, never in
  a tight loop;
- a permanent failure of one record (malformed event) is written to `<topic>.dlt` with the field
  and the reason in its headers, and the rest of the batch goes on.

Every client (FastStream broker, aiokafka producer, consumer and admin) connects the same way,
`broker_security`: plaintext, or SASL (SCRAM) as the service's own user, optionally over TLS. The
admin helpers below take the settings (or, for a plaintext broker, its bootstrap servers).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import ValidationError

from tidemark_runtime.settings import ConsumerSettings, KafkaSettings, PlatformSettings
from tidemark_schemas.events import TrackerEvent, parse_tracker_event
from tidemark_schemas.topics import BROKER_INCARNATION, all_topics, dead_letter

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36
T = TypeVar("T")


KafkaTarget: TypeAlias = KafkaSettings | str
"""A broker to talk to: the settings, or the bootstrap servers of a plaintext broker (the embedded one)."""

_SASL = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    """How this process authenticates to the broker (None: plaintext, no authentication)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile) if protocol.endswith("SSL") else None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    missing = [name for name, value in (("KAFKA_SASL_USERNAME", settings.kafka_sasl_username),
                                        ("KAFKA_SASL_PASSWORD", settings.kafka_sasl_password)) if not value]
    if missing or settings.kafka_sasl_username is None or settings.kafka_sasl_password is None:
        raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs {' and '.join(missing)}")
    if settings.kafka_sasl_mechanism == "PLAIN" and protocol == "SASL_PLAINTEXT":
        raise ValueError("KAFKA_SASL_MECHANISM=PLAIN sends the password itself: use it with KAFKA_SECURITY_PROTOCOL=SASL_SSL")
    return _SASL[settings.kafka_sasl_mechanism](
        settings.kafka_sasl_username, settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context, use_ssl=protocol == "SASL_SSL",
    )


def security_options(settings: KafkaSettings) -> dict[str, Any]:
    """`broker_security` as the keyword arguments of aiokafka's clients."""
    security = broker_security(settings)
    if security is None:
        return {}
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if security.ssl_context is not None:
        options["ssl_context"] = security.ssl_context
    if isinstance(security, SASLPlaintext | SASLScram256 | SASLScram512):
        options |= {"sasl_mechanism": settings.kafka_sasl_mechanism, "sasl_plain_username": security.username,
                    "sasl_plain_password": security.password}
    return options


def client_options(target: KafkaTarget) -> dict[str, Any]:
    """Where and how an aiokafka client connects: every admin client, probe and producer below."""
    if isinstance(target, str):
        return {"bootstrap_servers": target}
    return {"bootstrap_servers": target.kafka_bootstrap_servers, **security_options(target)}


async def ensure_topics(
    target: KafkaTarget,
    partitions: int,
    topics: Iterable[str] | None = None,
    timeout: float = 30.0,
    replication_factor: int = 1,
) -> list[str]:
    """Create the missing topics (the embedded broker never auto-creates; Kafka is configured not to);
    returns those it created."""
    wanted = list(topics or all_topics())
    admin = AIOKafkaAdminClient(**client_options(target), request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return []
        response = await admin.create_topics([NewTopic(t, partitions, replication_factor) for t in missing])
        for topic, code, message in getattr(response, "topic_errors", []):
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"could not create topic {topic}: error {code} {message}")
        return missing
    finally:
        await admin.close()


def _write_policy(settings: PlatformSettings) -> dict[str, Any]:
    """Acknowledged by all in-sync replicas, idempotent where the broker supports it (Apache Kafka;
    not the embedded Tansu)."""
    return {"acks": "all", "enable_idempotence": settings.kafka_idempotent_producer}


def producer_options(settings: PlatformSettings) -> dict[str, Any]:
    """How every Tidemark aiokafka producer writes and authenticates (besides its bootstrap servers)."""
    return {**_write_policy(settings), **security_options(settings)}


def make_broker(settings: PlatformSettings, client_id: str, **kwargs: Any) -> KafkaBroker:
    """The one way every FastStream process builds its broker."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=client_id,
        graceful_timeout=10.0,
        security=broker_security(settings),
        **_write_policy(settings),
        **kwargs,
    )


def consumer_policy(settings: PlatformSettings) -> dict[str, Any]:
    """Keyword arguments every Tidemark subscriber passes (besides its own group id and batching)."""
    return {
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        # The embedded broker answers a fetch only when this wait ends, even if data arrived: it
        # bounds lock-to-visible latency, so keep it short (an idle consumer costs a few requests/s).
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
    }


@dataclass
class Backoff:
    """Capped exponential back-off shared by the retries of one subscriber."""

    initial: float = 0.1
    maximum: float = 5.0
    streak: int = field(default=0)

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * 2.0**self.streak)
        self.streak += 1
        return delay

    def reset(self) -> None:
        self.streak = 0


async def with_backoff(backoff: Backoff, work: Awaitable[T]) -> T:
    """Run one batch's work; when it fails, wait (growing) before re-raising, so that FastStream's
    retry of the batch (`NACK_ON_ERROR`) is not a tight loop. One `Backoff` per subscriber."""
    try:
        result = await work
    except Exception:
        delay = backoff.next_delay()
        log.exception("batch failed; retrying in %.1fs", delay)
        await asyncio.sleep(delay)
        raise
    backoff.reset()
    return result


@dataclass(frozen=True)
class Rejection:
    """Why one record could not be applied: the field and the reason, for the dead-letter record."""

    field: str
    reason: str


def rejection_from(error: Exception) -> Rejection:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "(message)"
        return Rejection(location, first["msg"])
    return Rejection("(message)", f"{type(error).__name__}: {error}")


def parse_records(
    records: Sequence[ConsumerRecord],
) -> tuple[list[tuple[ConsumerRecord, TrackerEvent]], list[tuple[ConsumerRecord, Rejection]]]:
    """Split a batch into valid tracker events, each with its record, and rejected records (with
    the field and the reason)."""
    parsed: list[tuple[ConsumerRecord, TrackerEvent]] = []
    rejected: list[tuple[ConsumerRecord, Rejection]] = []
    for record in records:
        try:
            parsed.append((record, parse_tracker_event(record.value)))
        except Exception as error:  # any malformed body is permanent: retrying cannot fix it
            rejected.append((record, rejection_from(error)))
    return parsed, rejected


def parse_batch(records: Sequence[ConsumerRecord]) -> tuple[list[TrackerEvent], list[tuple[ConsumerRecord, Rejection]]]:
    """Split a batch into valid tracker events and rejected records (with the field and the reason)."""
    parsed, rejected = parse_records(records)
    return [event for _record, event in parsed], rejected


async def dead_letter_record(broker: KafkaBroker, record: ConsumerRecord, rejection: Rejection, service: str) -> None:
    """Publish the untouched record to `<topic>.dlt`, with where it came from and why it was refused."""
    await broker.publish(
        record.value,
        dead_letter(record.topic),
        key=record.key,
        headers={
            "x-origin-topic": record.topic,
            "x-origin-partition": str(record.partition),
            "x-origin-offset": str(record.offset),
            "x-rejected-by": service,
            "x-error-field": rejection.field,
            "x-error-reason": rejection.reason,
        },
    )
    log.warning(
        "dead-lettered %s[%s]@%s: %s: %s", record.topic, record.partition, record.offset, rejection.field, rejection.reason
    )


async def consumer_lag(target: KafkaTarget, group_id: str, topics: Iterable[str]) -> int:
    """Records on `topics` not yet committed by `group_id` (how far a consumer group is behind)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    admin = AIOKafkaAdminClient(**client_options(target))
    probe = AIOKafkaConsumer(**client_options(target), enable_auto_commit=False)
    await admin.start()
    await probe.start()
    try:
        partitions = [
            TopicPartition(topic, p) for topic in topics for p in sorted(probe.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return 0
        ends = await probe.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
        return sum(
            max(0, ends[tp] - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0))
            for tp in partitions
        )
    finally:
        await probe.stop()
        await admin.close()


async def raw_bodies(message: Any) -> list[bytes]:
    """The batch's record bodies as they came: each consumer parses them once into its own event
    models (`parse_batch`). FastStream's default decoder would build a message object and decode
    the JSON of every record first, for nothing: a quarter of the metrics process's time."""
    return list(message.body)


def batch_subscriber(
    broker: KafkaBroker, settings: ConsumerSettings, topics: Iterable[str], title: str, description: str,
    group_id: str | None = None,
) -> Callable[[Callable[..., Awaitable[None]]], Any]:
    """The subscriber decorator every consumer service uses: its group (`group_id`, else the
    `CONSUMER_GROUP` setting), batching and the policy above."""
    policy = consumer_policy(settings)
    subscriber = broker.subscriber(
        *topics,
        group_id=group_id or settings.consumer_group,
        batch=True,
        decoder=raw_bodies,
        max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        title=title,
        description=description,
        auto_offset_reset=policy["auto_offset_reset"],
        ack_policy=policy["ack_policy"],
        fetch_max_wait_ms=policy["fetch_max_wait_ms"],
    )
    return subscriber


async def broker_incarnation(target: KafkaTarget, timeout: float = 10.0) -> str:
    """An id of the broker's current life: the first record of `topics.BROKER_INCARNATION`, written (a new
    uuid) by whoever finds the topic missing or empty. A broker that comes back without its topics
    (the embedded one keeps them in memory) has a new incarnation; one that kept its log has the
    same, whoever asks. Concurrent writers agree: everyone reads offset 0."""
    import uuid

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition

    await ensure_topics(target, 1, [BROKER_INCARNATION], timeout=timeout)
    partition = TopicPartition(BROKER_INCARNATION, 0)

    async def first_record() -> str | None:
        consumer = AIOKafkaConsumer(**client_options(target), enable_auto_commit=False,
                                    request_timeout_ms=int(timeout * 1000))
        await consumer.start()
        try:
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            if (await consumer.end_offsets([partition]))[partition] == 0:
                return None
            batch = await consumer.getmany(partition, timeout_ms=int(timeout * 1000), max_records=1)
            records = batch.get(partition, [])
            return records[0].value.decode() if records else None
        finally:
            await consumer.stop()

    found = await first_record()
    if found is None:
        producer = AIOKafkaProducer(**client_options(target), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(BROKER_INCARNATION, uuid.uuid4().hex.encode())
        finally:
            await producer.stop()
        found = await first_record()
    if found is None:
        raise RuntimeError(f"the broker kept no record in {BROKER_INCARNATION}")
    return found


async def group_positions(target: KafkaTarget, group_id: str, topics: Iterable[str]) -> dict[str, tuple[int | None, int]]:
    """For each partition of `topics` ("topic[p]"): the offset `group_id` committed (None: none) and
    the end of the log, as the broker reports them. (The embedded Tansu reports the end of a log
    as the last batch's first offset + 1, so an end below a committed offset is not, there, a loss.)"""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    admin = AIOKafkaAdminClient(**client_options(target))
    probe = AIOKafkaConsumer(**client_options(target), enable_auto_commit=False)
    await admin.start()
    await probe.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(probe.partitions_for_topic(t) or ())]
        if not partitions:
            return {}
        # Committed first, then the ends: the log only grows and the group only commits what it has read.
        committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
        ends = await probe.end_offsets(partitions)
        return {
            f"{tp.topic}[{tp.partition}]": (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else None,
                                            ends[tp])
            for tp in partitions
        }
    finally:
        await probe.stop()
        await admin.close()


async def missing_topics(target: KafkaTarget, wanted: Iterable[str]) -> set[str]:
    """Those of `wanted` the broker does not have (a broker that came back without its topics)."""
    admin = AIOKafkaAdminClient(**client_options(target))
    await admin.start()
    try:
        return set(wanted) - set(await admin.list_topics())
    finally:
        await admin.close()
