"""Statutory settings (environment variables; see README "Settings")."""

from __future__ import annotations

from tidemark_runtime.settings import PlatformSettings


class StatutorySettings(PlatformSettings):
    host: str = "127.0.0.1"
    port: int = 8003
    consumer_group: str = "tidemark-statutory"
    batch_max_records: int = 2000
    batch_timeout_ms: int = 50
