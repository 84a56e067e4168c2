"""Metrics settings (environment variables; see README "Settings")."""

from __future__ import annotations

from tidemark_runtime.settings import LOOPBACK_DATABASE_URL, ConsumerSettings, DatabaseUrl


class MetricsSettings(ConsumerSettings):
    port: int = 8002
    consumer_group: str = "tidemark-metrics"
    database_url: DatabaseUrl = LOOPBACK_DATABASE_URL
    """The ingest store, read only by `tidemark-metrics rebuild`."""
