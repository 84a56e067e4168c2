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


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
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
    ingest_url: str = Field(default="http://127.0.0.1:8001", description="Where ingest serves the replay a rebuild reads")
    batch_max_records: int = 2000
    batch_timeout_ms: int = 50
