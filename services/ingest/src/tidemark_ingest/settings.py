"""Ingest settings (environment variables; see README "Settings")."""

from __future__ import annotations

from tidemark_runtime.settings import LOOPBACK_DATABASE_URL, DatabaseUrl, ServiceSettings


class IngestSettings(ServiceSettings):
    port: int = 8001
    database_url: DatabaseUrl = LOOPBACK_DATABASE_URL
    relay_batch_size: int = 2000
    relay_idle_poll_seconds: float = 0.5
    max_batch_rows: int = 20000
