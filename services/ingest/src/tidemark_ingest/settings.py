"""Ingest settings (environment variables; see README "Settings")."""

from __future__ import annotations

from pydantic import Field

from tidemark_runtime.settings import LOOPBACK_DATABASE_URL, DatabaseUrl, ServiceSettings

MAX_BODY_BYTES = 32 * 1024 * 1024
"""Ingest's default body limit: room for the largest legitimate batch of MAX_BATCH_ROWS rows of any
kind (`tidemark_schemas.records`; measured in docs/architecture.md, "Input limits")."""


class IngestSettings(ServiceSettings):
    port: int = 8001
    database_url: DatabaseUrl = LOOPBACK_DATABASE_URL
    relay_batch_size: int = 2000
    relay_idle_poll_seconds: float = 0.5
    ready_max_outbox_age_seconds: float = Field(
        default=30.0, gt=0, description="The oldest unpublished outbox row may wait this long and ingest still answer "
        "/readyz ready: older, the relay is stuck (or the broker away)",
    )
    max_body_bytes: int = Field(
        default=MAX_BODY_BYTES,
        gt=0,
        description="Largest request body accepted: a larger one is refused with 413 while it is read, before "
        "authentication or parsing",
    )
    import_max_rows: int = Field(
        default=500_000,
        gt=0,
        description="Most data rows one imported file may have (POST /v1/imports): a longer one is refused with "
        "422 naming the limit",
    )
