"""Rendered answers (JSON bytes) kept in memory, with what each one read, so that an answer is
served again only while none of its inputs moved.

While an answer is computed, the read model records what it reads (`ReadLog`, switched on by
`recording`): the generations, the Trust's directory and the version of every counter hash read
(every write of a hash bumps its version in the same atomic write). The answer is kept with that
record (`CachedAnswer`); serving it again first checks, in one round trip, that the generations,
the directory and every one of those versions are still what they were
(`ReadModel.still_current`). "Last updated" moves with every write of the Trust, including writes
of hashes an answer did not read, so it is left out of the kept bytes (rendered as
`LAST_UPDATED_MARK`) and spliced in when the answer is served: an answer is thus the same bytes
as a fresh computation, and a lock elsewhere in the Trust does not throw it away.

The cache is bounded in bytes (`ANSWER_CACHE_BYTES`): when full, the least recently served answers
go first (an answer larger than the whole cache is not kept).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Hashable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from cachetools import LRUCache

from tidemark_schemas.aggregates import WRITES_FIELD

LAST_UPDATED_MARK = f"tidemark-last-updated-{secrets.token_hex(16)}"
"""Stands for "last updated" in a kept answer (random per process: no school name can be it)."""
LAST_UPDATED_JSON = f'"{LAST_UPDATED_MARK}"'.encode()

KEY_OVERHEAD_BYTES = 100
"""What a recorded key and its version cost beyond the key's own characters, about."""


@dataclass
class ReadLog:
    """What one computation read from the read model: enough to tell later whether any of it moved."""

    generations: tuple[str, str] | None = None
    """The summative and the statutory generation it read."""
    directory: int | None = None
    """The serial of the Trust directory it read (`ReadModel`'s directory cache numbers each content)."""
    last_updated: str | None = None
    """The real "last updated" it read (the answer carries `LAST_UPDATED_MARK` instead)."""
    versions: dict[str, dict[str, str | None]] = field(default_factory=dict)
    """Versions hash -> {counter hash key: its version when read (None: absent, never written)}."""
    writes: dict[str, int] = field(default_factory=dict)
    """Versions hash -> its generation's write count (`WRITES_FIELD`) when first read: while that
    has not moved, no counter hash of the generation has, so a check needs only these numbers."""
    whole: set[str] = field(default_factory=set)
    """Versions hashes whose whole generation it depends on (it asked which counter hashes exist):
    only an unmoved write count keeps it current."""
    statutory: bool = False
    """It read the statutory projection (which may be being restored on its own)."""
    cacheable: bool = True
    """False once it read something no version covers (a hash written by hand, a key's existence)."""

    def read(self, versions_key: str, keys: list[str], replies: list[str | None]) -> None:
        """Record one read of `versions_key`: `replies` to HMGET of `versions_fields(keys)`."""
        writes, *versions = replies
        self.versions.setdefault(versions_key, {}).update(zip(keys, versions, strict=True))
        self.saw(versions_key, writes)

    def read_whole(self, versions_key: str, writes: str | None) -> None:
        """Record a read that depends on every counter hash of `versions_key`'s generation (which exist)."""
        self.whole.add(versions_key)
        self.saw(versions_key, writes)

    def saw(self, versions_key: str, writes: str | None) -> None:
        """The earliest write count seen is the one kept (a later read may have seen a later one)."""
        count = write_count(writes)
        self.writes[versions_key] = min(count, self.writes.get(versions_key, count))

    @property
    def size(self) -> int:
        return sum(len(key) + KEY_OVERHEAD_BYTES for keys in self.versions.values() for key in keys)


def versions_fields(keys: Sequence[str]) -> list[str]:
    """What to ask a versions hash for: its write count, then the versions of `keys`."""
    return [WRITES_FIELD, *keys]


def write_count(raw: str | None) -> int:
    """A versions hash's write count (absent: never written)."""
    return int(raw or 0)


RECORDING: ContextVar[ReadLog | None] = ContextVar("tidemark_gateway_answer_reads", default=None)
"""The log of the computation under way in this context, if it may be kept (see `recording`)."""


@contextlib.contextmanager
def recording() -> Iterator[ReadLog]:
    """Record every read of the read model in this context (and the tasks it starts)."""
    log = ReadLog()
    token = RECORDING.set(log)
    try:
        yield log
    finally:
        RECORDING.reset(token)


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    parts: tuple[bytes, ...]
    """The answer's JSON cut where "last updated" goes."""
    reads: ReadLog

    @classmethod
    def of(cls, body: bytes, reads: ReadLog) -> CachedAnswer:
        return cls(tuple(body.split(LAST_UPDATED_JSON)), reads)

    def body(self, last_updated_json: bytes) -> bytes:
        """The answer with "last updated" as it is now (its JSON: a string or null)."""
        return last_updated_json.join(self.parts)

    @property
    def size(self) -> int:
        return sum(map(len, self.parts)) + self.reads.size


class AnswerCache:
    """Answers by view (Trust, caller's scope, endpoint, normalised query), least recently served
    evicted first beyond `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self._entries: LRUCache[Hashable, CachedAnswer] = LRUCache(maxsize=max_bytes, getsizeof=_size)

    def get(self, view: Hashable) -> CachedAnswer | None:
        return self._entries.get(view)

    def put(self, view: Hashable, answer: CachedAnswer) -> None:
        if self._entries.maxsize and answer.size <= self._entries.maxsize:
            self._entries[view] = answer

    def discard(self, view: Hashable, answer: CachedAnswer) -> None:
        """Forget `answer` (found stale), unless a newer one took its place meanwhile."""
        if self._entries.get(view) is answer:
            del self._entries[view]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return int(self._entries.currsize)


def _size(answer: CachedAnswer) -> int:
    return answer.size
