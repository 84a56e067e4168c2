"""Every Prometheus series Tidemark exposes, defined once (docs/operations.md lists them; the Grafana
dashboard in deploy/grafana queries only these, `tests/test_observability_dashboard.py` checks it).

All series live in prometheus-client's default registry, with the process and garbage-collector
series it adds. The hot paths observe once per unit of work they already have (a consumed batch,
an HTTP request), never once per event: a projection applies some 20,000 events a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

log = logging.getLogger(__name__)

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Buckets of request and batch durations."""

HTTP_REQUEST_SECONDS = Histogram(
    "tidemark_http_request_duration_seconds",
    "HTTP requests: time from the request to the response's first byte (headers sent), by route template "
    "(never the raw path) and status; its _count is the number of requests",
    ["service", "method", "route", "status"],
    buckets=SECONDS,
)

EVENTS_CONSUMED = Counter(
    "tidemark_projection_events_consumed", "Records a projection's consumer received (applied or not)", ["projection"]
)
EVENTS_APPLIED = Counter(
    "tidemark_projection_events_applied",
    "Events (and school documents) a projection applied because they were newer than what it stored",
    ["projection"],
)
EVENTS_DEAD_LETTERED = Counter(
    "tidemark_projection_events_dead_lettered", "Malformed records a projection set aside on <topic>.dlt", ["projection"]
)
EVENTS_REFUSED = Counter(
    "tidemark_projection_events_refused",
    "Events refused as implausibly far ahead of their fact's stored version (possibly forged) and dead-lettered; "
    "counted in dead_lettered too",
    ["projection"],
)
BATCH_RECORDS = Histogram(
    "tidemark_projection_batch_records",
    "Records per consumed batch; its _count is the number of batches",
    ["projection"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000),
)
BATCH_SECONDS = Histogram(
    "tidemark_projection_batch_duration_seconds",
    "Time to apply one consumed batch: parse, read the states, compute, write to Redis, announce",
    ["projection"],
    buckets=SECONDS,
)
LOCK_TO_VISIBLE_SECONDS = Histogram(
    "tidemark_lock_to_visible_seconds",
    "From an event's time (occurred_at: ingest stored the lock or change) to the projection's Redis write "
    "that makes it visible; one observation per batch, of its oldest event",
    ["projection"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0),
)
CONSUMER_LAG = Gauge(
    "tidemark_consumer_lag_records",
    "Records of a partition not yet committed by the projection's consumer group (read from the broker on scrape)",
    ["projection", "topic", "partition"],
)
OUTBOX_UNPUBLISHED = Gauge(
    "tidemark_outbox_unpublished_rows", "Events stored in ingest's outbox and not yet acknowledged by the broker"
)
OUTBOX_OLDEST_AGE = Gauge(
    "tidemark_outbox_oldest_unpublished_age_seconds",
    "Age of the oldest unpublished outbox row (0 when the outbox is drained)",
)
OUTBOX_PUBLISHED = Counter("tidemark_outbox_published", "Outbox rows the relay published (acknowledged by the broker)")
REBUILD_TRUSTS = Gauge(
    "tidemark_rebuild_trusts", "Trusts in the projection's current (or last) rebuild", ["projection"]
)
REBUILD_TRUSTS_DONE = Gauge(
    "tidemark_rebuild_trusts_done", "Trusts of the current (or last) rebuild already rebuilt and switched", ["projection"]
)

TIDEMARK_METRICS: tuple[MetricWrapperBase, ...] = (
    HTTP_REQUEST_SECONDS, EVENTS_CONSUMED, EVENTS_APPLIED, EVENTS_DEAD_LETTERED, EVENTS_REFUSED, BATCH_RECORDS, BATCH_SECONDS,
    LOCK_TO_VISIBLE_SECONDS, CONSUMER_LAG, OUTBOX_UNPUBLISHED, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISHED, REBUILD_TRUSTS,
    REBUILD_TRUSTS_DONE,
)
"""Tidemark's own series (the registry also holds the process and GC series of prometheus-client)."""


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type (the body of `GET /metrics`)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def exposed_names() -> set[str]:
    """Every sample name the registry can expose (a histogram's _bucket, _sum and _count, a
    counter's _total, ...), whether or not a labelled series has been observed yet."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("", "_sum", "_count", "_created"),
            "gauge": ("",),
        }.get(family.type, ("",))
        names.update(family.name + suffix for suffix in suffixes)
        names.update(sample.name for sample in family.samples)
    return names


@dataclass(frozen=True)
class ProjectionMetrics:
    """One projection's series, their labelled children looked up once (not once per batch)."""

    consumed: Counter
    applied: Counter
    dead_lettered: Counter
    refused: Counter
    records: Histogram
    seconds: Histogram
    lock_to_visible: Histogram

    @classmethod
    def of(cls, projection: str) -> ProjectionMetrics:
        return cls(
            EVENTS_CONSUMED.labels(projection), EVENTS_APPLIED.labels(projection),
            EVENTS_DEAD_LETTERED.labels(projection), EVENTS_REFUSED.labels(projection), BATCH_RECORDS.labels(projection),
            BATCH_SECONDS.labels(projection), LOCK_TO_VISIBLE_SECONDS.labels(projection),
        )

    def observe_visible(self, oldest_event: datetime | None) -> None:
        """Right after a batch's Redis write: `oldest_event` is the time of its oldest event."""
        if oldest_event is not None:
            self.lock_to_visible.observe(max(0.0, (datetime.now(UTC) - _aware(oldest_event)).total_seconds()))

    def observe_batch(self, records: int, applied: int, dead_lettered: int, refused: int, seconds: float) -> None:
        """One consumed batch, done (written and announced); `dead_lettered` includes `refused`."""
        self.consumed.inc(records)
        self.applied.inc(applied)
        if dead_lettered:
            self.dead_lettered.inc(dead_lettered)
        if refused:
            self.refused.inc(refused)
        self.records.observe(records)
        self.seconds.observe(seconds)


def set_consumer_lag(projection: str, positions: Mapping[str, tuple[int | None, int]]) -> None:
    """The lag of each partition from `kafka.group_positions` ("topic[p]" -> (committed, end))."""
    for name, (committed, end) in positions.items():
        topic, _, partition = name.rpartition("[")
        CONSUMER_LAG.labels(projection, topic, partition.rstrip("]")).set(max(0, end - (committed or 0)))


def set_outbox(unpublished: int, oldest_age: timedelta | None) -> None:
    """Ingest's outbox: rows not yet published, and how long the oldest of them has waited (None: none)."""
    OUTBOX_UNPUBLISHED.set(unpublished)
    OUTBOX_OLDEST_AGE.set(0.0 if oldest_age is None else max(0.0, oldest_age.total_seconds()))


class RebuildProgress:
    """Trusts done out of the Trusts to rebuild, for one projection's rebuild (the `rebuild`
    command or a recovery): `tidemark_rebuild_trusts_done / tidemark_rebuild_trusts`."""

    def __init__(self, projection: str, trusts: int) -> None:
        self._done = REBUILD_TRUSTS_DONE.labels(projection)
        REBUILD_TRUSTS.labels(projection).set(trusts)
        self._done.set(0)

    def trust_done(self) -> None:
        self._done.inc()


Refresher = Callable[[], Awaitable[None]]
"""Brings gauges read from elsewhere (the broker, the SQL store) up to date before a scrape."""


def at_most_every(seconds: float, refresher: Refresher) -> Refresher:
    """`refresher`, run again only when its last run is `seconds` old: scrapes from several
    Prometheus servers (or a human with curl) do not each cost a round of broker requests."""
    last = -float("inf")

    async def refresh() -> None:
        nonlocal last
        if time.monotonic() - last >= seconds:
            await refresher()
            last = time.monotonic()

    return refresh


async def refresh_all(refreshers: Iterable[Refresher], timeout: float = 5.0) -> None:
    """Run every refresher, each bounded by `timeout`; one that fails leaves its gauges as they were
    (a scrape never fails because the broker or the database is slow)."""
    for refresher in refreshers:
        try:
            async with asyncio.timeout(timeout):
                await refresher()
        except Exception as error:  # noqa: BLE001  (any failure: keep the previous values)
            log.warning("metrics refresh failed: %s: %s", type(error).__name__, error)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
