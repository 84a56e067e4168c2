"""Statutory settings (environment variables; see README "Settings")."""

from __future__ import annotations

from tidemark_runtime.settings import ConsumerSettings


class StatutorySettings(ConsumerSettings):
    port: int = 8003
    consumer_group: str = "tidemark-statutory"
