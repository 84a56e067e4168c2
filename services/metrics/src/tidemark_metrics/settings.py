"""Metrics settings (environment variables; see README "Settings")."""

from __future__ import annotations

from tidemark_runtime.settings import PlatformSettings


class MetricsSettings(PlatformSettings):
    host: str = "127.0.0.1"
    port: int = 8002
    consumer_group: str = "tidemark-metrics"
    batch_max_records: int = 2000
    batch_timeout_ms: int = 50
