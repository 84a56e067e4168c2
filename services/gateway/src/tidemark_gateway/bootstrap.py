"""The gateway's composition root: from settings, the adapters (the Redis connections, the counter
and answer caches, the principal lookup) and the use cases over them.

The app's lifespan builds the gateway here (so `tidemark-gateway` does, through the app), and so do
the tests (`tidemark_gateway.testing`); nothing else wires it. A test may hand in its own read model
or clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tidemark_gateway.adapters.answer_cache import AnswerCache
from tidemark_gateway.adapters.counter_cache import CounterCache
from tidemark_gateway.adapters.ingest_forward import IngestForward
from tidemark_gateway.adapters.redis_reader import ReadModel
from tidemark_gateway.service_layer.answers import Answers
from tidemark_gateway.service_layer.dashboards import Dashboards
from tidemark_gateway.service_layer.live import LiveUpdates
from tidemark_gateway.service_layer.reference import Reference
from tidemark_gateway.service_layer.reports import Reports
from tidemark_gateway.service_layer.small_groups import SmallGroups
from tidemark_gateway.settings import GatewaySettings
from tidemark_identity.domain.sessions import SessionPolicy
from tidemark_identity.lookup import Lookup
from tidemark_identity.oidc import OidcClient, OidcSettings
from tidemark_identity.service import Identity
from tidemark_runtime.auth import PrincipalLookup
from tidemark_runtime.redis import connect as connect_redis
from tidemark_schemas.calendar import PeriodCalendar

LIVE_READ_MARGIN_SECONDS = 5.0
"""How much longer than its XREAD block a live stream's Redis read may take before Redis counts as
gone (the stream then ends and the browser reconnects)."""


READ_RETRY = Retry(NoBackoff(), retries=1)
"""A read that fails on a pooled connection (one that died with a Redis that restarted since) is
sent once more on a fresh one (every gateway read is idempotent); if Redis is still away, the read
fails (503, or the live stream ends and the browser reconnects). redis-py's clients built from a
URL retry nothing."""


@dataclass(frozen=True, slots=True)
class Services:
    """The gateway, built: its use cases and the adapters they share."""

    calendar: PeriodCalendar
    principals: PrincipalLookup
    read_model: ReadModel
    reports: Reports
    dashboards: Dashboards
    reference: Reference
    live: LiveUpdates
    answers: Answers
    identity: Identity | None = None
    """People, sessions, API keys and the audit trail (DATABASE_URL); None: tokens only."""
    sso: OidcClient | None = None
    """Single sign-on (OIDC_ISSUER); None: email and password only."""
    ingest: IngestForward | None = None
    """The forward of `/ingest/...` to ingest (INGEST_URL); None: those paths answer 503."""

    async def aclose(self) -> None:
        await self.live.aclose()
        await self.read_model.aclose()
        if self.identity is not None:
            await self.identity.store.engine.dispose()
        if self.sso is not None:
            await self.sso.aclose()
        if self.ingest is not None:
            await self.ingest.aclose()


def bootstrap(
    settings: GatewaySettings, *, read_model: ReadModel | None = None, today: Callable[[], date] = date.today
) -> Services:
    read_model = read_model or connect(settings)
    calendar = PeriodCalendar(settings.assessment_periods)
    small_groups = SmallGroups(settings.small_group_threshold)
    identity = accounts(settings)
    return Services(
        calendar=calendar,
        principals=Lookup(identity, settings.tidemark_tokens),
        identity=identity,
        sso=single_sign_on(settings),
        ingest=IngestForward(settings.ingest_url) if settings.ingest_url else None,
        read_model=read_model,
        reports=Reports(read_model, calendar, small_groups),
        dashboards=Dashboards(read_model, calendar, small_groups),
        reference=Reference(read_model, calendar, today),
        live=LiveUpdates(read_model, int(settings.live_heartbeat_seconds * 1000), settings.live_batch_size,
                         settings.live_queue_size),
        answers=Answers(read_model, AnswerCache(settings.answer_cache_bytes)),
    )


def accounts(settings: GatewaySettings) -> Identity | None:
    """The accounts in the SQL store (nothing connects until the first request), if configured."""
    if settings.database_url is None:
        return None
    engine: AsyncEngine = create_async_engine(settings.database_url, pool_pre_ping=True)
    policy = SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes), absolute=timedelta(hours=settings.session_absolute_hours)
    )
    return Identity.on(engine, policy)


def single_sign_on(settings: GatewaySettings) -> OidcClient | None:
    if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret):
        return None
    return OidcClient(OidcSettings(
        settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret.get_secret_value()
    ))


def connect(settings: GatewaySettings) -> ReadModel:
    """Two connection pools, to one Redis or a Redis Cluster (`REDIS_CLUSTER`; nothing connects
    until the first read), and the counter cache. Report reads keep redis-py's socket timeout; a
    live stream's XREAD blocks for up to the heartbeat by design and would be cut by it, so live
    streams have connections of their own. On a single server every read is retried once on a
    fresh connection (`READ_RETRY`); a cluster client retries by itself (and reconnects to the
    cluster), which a retry of our own would only cut short."""
    retry: dict[str, Retry] = {} if settings.redis_cluster else {"retry": READ_RETRY}
    return ReadModel(
        redis=connect_redis(settings, decode_responses=True, **retry),
        live_redis=connect_redis(
            settings, decode_responses=True, **retry,
            socket_timeout=settings.live_heartbeat_seconds + LIVE_READ_MARGIN_SECONDS,
        ),
        prefix=settings.redis_prefix,
        counters=CounterCache(settings.counter_cache_hashes),
    )
