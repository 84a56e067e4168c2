"""Statutory settings (environment variables; see README "Settings")."""

from __future__ import annotations

from tidemark_runtime.settings import LOOPBACK_DATABASE_URL, ConsumerSettings, DatabaseUrl


class StatutorySettings(ConsumerSettings):
    port: int = 8003
    consumer_group: str = "tidemark-statutory"
    database_url: DatabaseUrl = LOOPBACK_DATABASE_URL
    """The ingest store, read only by `tidemark-statutory rebuild`."""
