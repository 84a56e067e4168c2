"""Live updates (/v1/live): the change notices of the caller's schools, as they are written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from tidemark_gateway.adapters.redis_reader import AggregateReader, ReadModel, StreamEntry
from tidemark_gateway.domain.live import visible_part
from tidemark_runtime.settings import Principal


@dataclass(frozen=True, slots=True)
class LiveUpdates:
    read_model: ReadModel
    block_ms: int
    """How long one blocking read waits before the stream sends a heartbeat."""
    batch_size: int
    """Notices read at a time."""

    async def follow(self, caller: Principal, after: str | None) -> AsyncIterator[StreamEntry | None]:
        """Notices the caller may see, from just after stream id `after` (or else from now), forever;
        None whenever a blocking read times out, so the caller can send a heartbeat. The starting
        point is fixed when this returns, so nothing published after that is missed."""
        reader = self.read_model.change_stream(caller.trust_id)
        return self._follow(reader, caller, after or await reader.last_notice_id())

    async def _follow(self, reader: AggregateReader, caller: Principal, position: str) -> AsyncIterator[StreamEntry | None]:
        while True:
            entries = await reader.notices_after(position, self.block_ms, self.batch_size)
            if not entries:
                yield None
            for stream_id, notice in entries:
                position = stream_id
                if (visible := visible_part(notice, caller)) is not None:
                    yield stream_id, visible
