"""Report and dashboard answers, rendered once and served to every reader of the same view while
nothing they were computed from has moved (`adapters/answer_cache.py` says how that is known).

A view is the caller's Trust, the schools the caller may see and whether it may see pupils, the
endpoint and its parsed query (so `?a=1&b=2` and `?b=2&a=1` are one view, and so are defaults left
out and given). Two callers whose scopes differ never share an answer.

Concurrent readers of one view cost one computation (a single flight): a request that finds the
view being computed waits for that computation; and they share the check of a kept answer (one
round trip for all of them). An answer is never older than the request it answers: a request takes
a computation's answer, or a check's verdict, as its own only if that started reading after the
request arrived; otherwise (it joined one under way) it waits for it to end, then checks (or
computes) anew.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from tidemark_gateway.adapters.answer_cache import AnswerCache, CachedAnswer, recording
from tidemark_gateway.adapters.redis_reader import Current, ReadModel
from tidemark_runtime.principal import Permission, Principal

T = TypeVar("T")
R = TypeVar("R")

ViewKey = tuple[str, frozenset[str] | None, frozenset[Permission], Hashable]
"""An answer's key: the caller's Trust, the schools it may see, what it may do (whether it sees
pupils, small groups' percentages), and the view."""


def view_key(caller: Principal, view: Hashable) -> ViewKey:
    """The key of `caller`'s answer to `view`: callers of the same scope share it, no one else."""
    return (caller.trust_id, caller.schools, caller.permissions, view)

LAST_UPDATED: TypeAdapter[str | None] = TypeAdapter(str | None)


@dataclass(eq=False)
class Flight(Generic[R]):
    """Work under way for a view, the tick it started at (`Answers._ticks`), and what it is about."""

    task: asyncio.Task[R]
    started: int
    about: object = None


class Flights(Generic[R]):
    """At most one piece of work under way per view; it leaves as its task ends (so a request that
    finds the task done never finds it here)."""

    def __init__(self, ticks: Iterator[int]) -> None:
        self._ticks = ticks
        self._under_way: dict[Hashable, Flight[R]] = {}

    def get(self, key: Hashable) -> Flight[R] | None:
        return self._under_way.get(key)

    def start(self, key: Hashable, work: Coroutine[Any, Any, R], about: object = None) -> Flight[R]:
        async def run() -> R:
            try:
                return await work
            finally:
                if self._under_way.get(key) is flight:
                    del self._under_way[key]

        flight = Flight(asyncio.create_task(run()), next(self._ticks), about)
        flight.task.add_done_callback(_retrieved)
        self._under_way[key] = flight
        return flight


class Answers:
    """Rendered answers by view: served from the cache while current, computed once per view at a
    time, and checked once per view at a time (concurrent readers share the check too)."""

    def __init__(self, read_model: ReadModel, cache: AnswerCache) -> None:
        self.read_model = read_model
        self.cache = cache
        self.computed = 0
        """Computations run (what a single flight and the cache save)."""
        self.checked = 0
        """Kept answers checked against Redis (concurrent readers of a view share a check)."""
        self._ticks = itertools.count()
        """Orders arrivals and the starts of computations and checks."""
        self._computing: Flights[bytes] = Flights(self._ticks)
        self._checking: Flights[Current | None] = Flights(self._ticks)

    async def render(
        self, caller: Principal, view: Hashable, shape: TypeAdapter[T], compute: Callable[[], Awaitable[T]]
    ) -> bytes:
        """The JSON of `compute()`'s answer (rendered as `shape`), for `caller` and the `view` it asked
        for (the endpoint and its parsed query)."""
        key = view_key(caller, view)
        arrived = next(self._ticks)
        for _attempt in range(3):  # a computation under way, then one of our own, suffices
            flight = self._computing.get(key)
            if flight is None:
                if (body := await self._kept(key, arrived)) is not None:
                    return body
                flight = self._computing.get(key) or self._computing.start(key, self._compute(key, shape, compute))
            try:
                answer = await asyncio.shield(flight.task)
            except Exception:
                if flight.started > arrived:
                    raise
                continue  # it started before this request arrived: try again on our own
            if flight.started > arrived:
                return answer
        raise RuntimeError("unreachable: the third attempt computes after this request arrived")

    async def kept(self, key: ViewKey) -> bytes | None:
        """The kept answer of `key` if nothing it read has moved (by a check that started after this
        call), else None: nothing kept, something moved, or a computation of the view under way
        (`render` joins it). Raises what the check raises (`ReadModelRestoring`, Redis errors)."""
        arrived = next(self._ticks)
        return None if self._computing.get(key) is not None else await self._kept(key, arrived)

    async def _kept(self, key: ViewKey, arrived: int) -> bytes | None:
        kept = self.cache.get(key)
        if kept is None or (current := await self._current(key[0], key, kept, arrived)) is None:
            return None
        return kept.body(LAST_UPDATED.dump_json(current.last_updated))

    async def _current(self, trust_id: str, key: Hashable, kept: CachedAnswer, arrived: int) -> Current | None:
        """Whether `kept` is still current, by a check that started after this request arrived.
        Concurrent requests share one; a check under way that started earlier is waited for, then
        the next one (which they share) answers."""
        while True:
            check = self._checking.get(key)
            if check is None or check.about is not kept:
                check = self._checking.start(key, self._check(trust_id, kept), about=kept)
            if check.started > arrived:
                current = await asyncio.shield(check.task)
                if current is None:
                    self.cache.discard(key, kept)
                return current
            await asyncio.wait([check.task])
            if self.cache.get(key) is not kept:
                return None  # found stale meanwhile (or replaced): compute, or join the computation under way

    async def _check(self, trust_id: str, kept: CachedAnswer) -> Current | None:
        self.checked += 1
        return await self.read_model.still_current(trust_id, kept.reads)

    async def _compute(self, key: Hashable, shape: TypeAdapter[Any], compute: Callable[[], Awaitable[Any]]) -> bytes:
        """Compute, render and keep the answer (when everything it read is versioned)."""
        self.computed += 1
        with recording() as reads:
            body = shape.dump_json(await compute(), by_alias=True)
        kept = CachedAnswer.of(body, reads)
        if reads.cacheable and reads.generations is not None:
            self.cache.put(key, kept)
        return kept.body(LAST_UPDATED.dump_json(reads.last_updated))


def _retrieved(task: asyncio.Task[Any]) -> None:
    """A task's exception is retrieved here (its waiters, if any, raise it themselves)."""
    if not task.cancelled():
        task.exception()
