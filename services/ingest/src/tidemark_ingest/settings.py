"""Ingest settings (environment variables; see README "Settings")."""

from __future__ import annotations

from tidemark_runtime.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///.tidemark/ingest.db"
    relay_batch_size: int = 2000
    relay_idle_poll_seconds: float = 0.5
    max_batch_rows: int = 20000
