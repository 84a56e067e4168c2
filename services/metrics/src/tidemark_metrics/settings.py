"""Metrics settings (environment variables; see README "Settings")."""

from __future__ import annotations

from tidemark_runtime.settings import ConsumerSettings


class MetricsSettings(ConsumerSettings):
    port: int = 8002
    consumer_group: str = "tidemark-metrics"
