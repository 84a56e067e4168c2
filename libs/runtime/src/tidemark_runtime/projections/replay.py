"""Reads the replay ingest serves (`tidemark_schemas.replay`): what a projection rebuilds from.

What a rebuild reads (`FactSource`), and that over HTTP (`HttpReplay`): the projection needs only
ingest's URL and the replay token, never the producer's code or its database credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Collection, Mapping, Sequence
from typing import Any, Protocol

import httpx

from tidemark_schemas.events import TrackerEvent
from tidemark_schemas.replay import REPLAY_PAGE_LIMIT, FactKind, ReplayPage, ReplayTrusts


class FactSource(Protocol):
    """Every current fact of the SQL store, as events (the replay contract ingest serves;
    `HttpReplay` reads it)."""

    async def trust_ids(self) -> list[str]: ...

    def facts(
        self, trust_id: str, kinds: Collection[FactKind] | None = None
    ) -> AsyncIterable[Sequence[TrackerEvent]]:
        """A Trust's facts, page by page: of `kinds` only (a projection's `facts`), or every kind."""
        ...

    async def close(self) -> None: ...


class ReplayUnavailable(RuntimeError):
    """Ingest did not serve the replay (not configured, refused, or unreachable)."""


class HttpReplay:
    def __init__(
        self, ingest_url: str, token: str, limit: int = REPLAY_PAGE_LIMIT, timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=ingest_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport or httpx.AsyncHTTPTransport(retries=3),
        )
        self._limit = limit

    async def trust_ids(self) -> list[str]:
        return ReplayTrusts.model_validate_json(await self._get("/v1/replay/trusts", {})).trust_ids

    async def facts(self, trust_id: str, kinds: Collection[FactKind] | None = None) -> AsyncIterator[Sequence[Any]]:
        cursor: str | None = None
        only = {"kinds": sorted(kinds)} if kinds is not None else {}
        while True:
            params = {"trust_id": trust_id, "limit": self._limit, **only, **({"cursor": cursor} if cursor else {})}
            page = ReplayPage.model_validate_json(await self._get("/v1/replay/facts", params))
            if page.facts:
                yield page.facts
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def _get(self, path: str, params: Mapping[str, Any]) -> bytes:
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as error:
            raise ReplayUnavailable(f"ingest's replay did not answer: {error}") from error
        if response.status_code != 200:
            raise ReplayUnavailable(f"ingest's replay answered {response.status_code}: {response.text[:200]}")
        return response.content

    async def close(self) -> None:
        await self._client.aclose()
