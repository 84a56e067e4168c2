"""The metrics process: the attainment and attendance projections' consumers, with a health route."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from tidemark_metrics.service import SERVICES
from tidemark_metrics.settings import MetricsSettings
from tidemark_runtime.projections.service import create_app as projection_app


def create_app(settings: MetricsSettings | None = None) -> AsgiFastStream:
    return projection_app(SERVICES, settings)
