"""Test helpers: ingest built by `bootstrap` (as in production) on a real SQL store, with a stand-in
for the broker, and its app called in-process.

Shipped in the package (like `tidemark_runtime.testing` and `tidemark_gateway.testing`) so the
cross-service tests build ingest the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tidemark_ingest.bootstrap import Services, bootstrap
from tidemark_ingest.settings import IngestSettings

if TYPE_CHECKING:  # test-only dependencies of the in-process client
    import httpx
    from fastapi import FastAPI

TRUST = "T"
TOKENS: dict[str, dict[str, Any]] = {
    "ingest": {"trust_id": TRUST, "role": "ingest"},
    "viewer": {"trust_id": TRUST, "role": "viewer"},
    "other-ingest": {"trust_id": "OTHER", "role": "ingest"},
}
"""The test suite's tokens: each token's value is its own name."""


@dataclass
class AcknowledgingBroker:
    """Stands in for Kafka: acknowledges every record at once and keeps it (topic, key, value)."""

    sent: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    async def send(
        self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged


def ingest_settings(database_url: str, **overrides: Any) -> IngestSettings:
    """The test suite's settings: its tokens, on the given store."""
    return IngestSettings(**{"database_url": database_url, "tidemark_tokens": TOKENS, **overrides})


@contextlib.asynccontextmanager
async def running(settings: IngestSettings) -> AsyncIterator[Services]:
    """Ingest built by `bootstrap`, its relay publishing to an `AcknowledgingBroker`."""
    async with bootstrap(settings, producer=AcknowledgingBroker()) as services:
        yield services


@dataclass
class Ingest:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def services(self) -> Services:
        """What the app's lifespan built (`bootstrap`), to call without HTTP."""
        built: Services = self.app.state.services
        return built


@contextlib.asynccontextmanager
async def in_process(settings: IngestSettings, **client_options: Any) -> AsyncIterator[Ingest]:
    """The app with its lifespan running (so built by `bootstrap`, with an `AcknowledgingBroker`),
    called through ASGI."""
    import httpx

    from tidemark_ingest.entrypoints.app import create_app

    app = create_app(settings, build=functools.partial(bootstrap, producer=AcknowledgingBroker()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest", **client_options) as client:
            yield Ingest(app, client)
