"""Settings shared by every process, read from the environment (pydantic-settings).

Each service subclasses `PlatformSettings` and adds its own fields; the same names are used by
the embedded stack and by production (`docker-compose.yml`, `deploy/`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tidemark_runtime.principal import Principal as Principal  # re-exported: who a request speaks for
from tidemark_schemas.calendar import HALF_TERMS


class TokenGrant(BaseModel):
    """A bearer token of `TIDEMARK_TOKENS`, the development and test fallback (accounts and API keys
    in the SQL store are the real path, `tidemark_identity`): one Trust, a role, optionally a subset
    of its schools."""

    trust_id: str
    role: Literal["ingest", "viewer"]
    schools: frozenset[str] | None = Field(default=None, description="None means every school of the Trust")
    see_pupils: bool = Field(
        default=False, description="May see pupil-level data (the lists behind a drill-down); figures otherwise"
    )


LOOPBACK_DATABASE_URL = "postgresql+asyncpg://tidemark@127.0.0.1:5432/tidemark"
"""The default SQL store: a PostgreSQL on this machine with a role and a database named tidemark."""

_POSTGRES_SCHEMES = ("postgresql+asyncpg://", "postgresql://", "postgres://")


def asyncpg_url(url: str) -> str:
    """A PostgreSQL URL as SQLAlchemy's asyncpg dialect reads it (`postgresql://` and `postgres://`
    are accepted too); anything else is refused with the reason."""
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url.removeprefix(scheme)
    scheme = url.split(":", 1)[0]
    raise ValueError(f"must be a PostgreSQL URL (postgresql://user:password@host:port/database), not {scheme!r}")


DatabaseUrl = Annotated[str, AfterValidator(asyncpg_url)]
"""DATABASE_URL: the SQL store, always PostgreSQL."""

MAX_VERSION_JUMP = 100
"""MAX_VERSION_JUMP's default. Ingest gives a fact version 1, then one more per change, and the relay
publishes every change keyed by pupil, so a consumer normally sees the version stored + 1 (a few
more when several relays publish one fact's changes out of order). 100 leaves room for that and for
changes a broker lost before recovery rebuilds, while an event claiming version 999 of a fact at 3
is refused."""


class KafkaSettings(BaseSettings):
    """How a process reaches and authenticates to the broker (`tidemark_runtime.kafka.broker_security`,
    which refuses a SASL protocol without a user, or PLAIN without TLS, when a client is built: a
    process that uses no Kafka, the gateway, may share these settings unused)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = Field(
        default="PLAINTEXT",
        description="How every Kafka client of the process connects (`tidemark_runtime.kafka.broker_security`): "
        "SASL_* authenticates as KAFKA_SASL_USERNAME; *SSL verifies the broker against KAFKA_SSL_CAFILE",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism (PLAIN sends the password itself: only over SASL_SSL)"
    )
    kafka_sasl_username: str | None = Field(default=None, description="This service's own Kafka user")
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(
        default=None, description="CA certificate(s) the broker's TLS certificate is checked against (else the system's)"
    )


class PlatformSettings(KafkaSettings):
    kafka_idempotent_producer: bool = Field(
        default=False, description="True for Apache Kafka; the embedded Tansu broker rejects InitProducerId"
    )
    kafka_topic_partitions: int = 6
    kafka_replication_factor: int = 1
    kafka_create_topics: bool = True
    kafka_fetch_max_wait_ms: int = Field(
        default=50, description="Longest a consumer's fetch waits for data; Tansu holds fetches this long"
    )

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = Field(
        default=False, description="REDIS_URL names any node of a Redis Cluster (`tidemark_runtime.redis.connect`)"
    )
    redis_prefix: str = "tm"

    assessment_periods: tuple[str, ...] = HALF_TERMS
    tidemark_tokens: dict[str, TokenGrant] = Field(
        default_factory=dict,
        description="Development and test fallback: bearer token -> grant. API keys in the SQL store are the real path",
    )
    replay_token: SecretStr | None = Field(
        default=None,
        description="Shared secret of ingest's replay (`GET /v1/replay/...`): projections present it to rebuild "
        "from the SQL store; unset, ingest serves no replay",
    )

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line per record (a terminal); json: one JSON object per line with service, "
        "level, message and the request or event id (`tidemark_runtime.observability.logs`)",
    )
    trace_exporter: Literal["none", "console", "otlp"] = Field(
        default="none",
        description="Where OpenTelemetry spans go: nowhere (no span is made), stdout, or an OTLP/HTTP collector",
    )
    trace_otlp_endpoint: str | None = Field(
        default=None,
        description="The collector's traces URL (e.g. http://collector:4318/v1/traces) for TRACE_EXPORTER=otlp; unset, "
        "the exporter's own default or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    )
    trace_sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of new traces recorded (a request that carries a sampled "
        "traceparent is always recorded)"
    )


class ServiceSettings(PlatformSettings):
    """A process with an HTTP endpoint (its API, or only its health route)."""

    host: str = "127.0.0.1"
    port: int
    max_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest request body accepted (`tidemark_runtime.http.BodyLimit`): a larger one is refused with "
        "413 while it is read, before authentication or parsing",
    )


class ConsumerSettings(ServiceSettings):
    """A process that consumes tracker events as one consumer group, in batches."""

    consumer_group: str
    recovery_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often each projection checks that its read model is whole (recovery)"
    )
    ready_max_lag: int = Field(
        default=10_000, ge=0, description="Records a consumer group may be behind and still answer /readyz ready"
    )
    ingest_url: str = Field(default="http://127.0.0.1:8001", description="Where ingest serves the replay a rebuild reads")
    batch_max_records: int = 2000
    lag_refresh_seconds: float = Field(
        default=5.0, gt=0, description="Longest /metrics reuses the consumer lag it last asked the broker for"
    )
    batch_timeout_ms: int = 50
    max_version_jump: int = Field(
        default=MAX_VERSION_JUMP, ge=1,
        description="An event more than this many versions ahead of the version stored for its fact is refused as "
        "forged (dead-lettered, counted, logged at ERROR): ingest bumps a fact's version by one per change, and "
        "every change is published in order",
    )
