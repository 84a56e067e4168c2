"""The statutory process: the shared projection consumer over statutory results, pupils and
summative results, with a health route."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from tidemark_runtime.projections.service import create_app as projection_app
from tidemark_statutory.service import SERVICE
from tidemark_statutory.settings import StatutorySettings


def create_app(settings: StatutorySettings | None = None) -> AsgiFastStream:
    return projection_app(SERVICE, settings)
