"""Every current fact, paged, for projections to rebuild from (`tidemark_schemas.replay`): the SQL
store read through `adapters.replay`, never written."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from tidemark_ingest.adapters import replay
from tidemark_ingest.adapters.replay import InvalidCursor
from tidemark_schemas.replay import FactKind

__all__ = ["InvalidCursor", "Replay"]


@dataclass(frozen=True, slots=True)
class Replay:
    engine: AsyncEngine

    async def trust_ids(self) -> list[str]:
        """Every Trust with a school or a pupil in the store."""
        return await replay.trust_ids(self.engine)

    async def page(
        self, trust_id: str, cursor: str | None, limit: int, kinds: Collection[FactKind] | None = None
    ) -> tuple[list[BaseModel], str | None]:
        """Up to `limit` facts of a Trust after `cursor` (None: from the start), of `kinds` (None:
        all), each as the event that describes it now, and the cursor of the next page (None after
        the last). Raises `InvalidCursor` for a cursor this replay did not hand out."""
        return await replay.replay_page(self.engine, trust_id, cursor, limit, kinds)
