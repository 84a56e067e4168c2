"""Report and dashboard answers, rendered once and served to every reader of the same view while
nothing they were computed from has moved (`adapters/answer_cache.py` says how that is known).

A view is the caller's Trust, the schools the caller may see and whether it may see pupils, the
endpoint and its parsed query (so `?a=1&b=2` and `?b=2&a=1` are one view, and so are defaults left
out and given). Two callers whose scopes differ never share an answer.

Concurrent readers of one view cost one computation (a single flight): a request that finds the
view being computed waits for that computation. An answer is never older than the request it
answers: a request takes a computation's answer as its own only if the computation started
reading after the request arrived; otherwise (it joined one under way) it checks the new answer
like any kept answer, in one round trip, and computes again if something moved meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter

from tidemark_gateway.adapters.answer_cache import AnswerCache, CachedAnswer, recording
from tidemark_gateway.adapters.redis_reader import ReadModel
from tidemark_runtime.settings import Principal

T = TypeVar("T")

LAST_UPDATED: TypeAdapter[str | None] = TypeAdapter(str | None)


@dataclass(eq=False)
class Flight:
    """One computation of a view under way, and when it started (`Answers._ticks`)."""

    task: asyncio.Task[bytes]
    started: int


class Answers:
    """Rendered answers by view: served from the cache while current, computed once per view at a time."""

    def __init__(self, read_model: ReadModel, cache: AnswerCache) -> None:
        self.read_model = read_model
        self.cache = cache
        self.computed = 0
        """Computations run (what a single flight and the cache save)."""
        self._flights: dict[Hashable, Flight] = {}
        self._ticks = itertools.count()
        """Orders arrivals and the starts of computations."""

    async def render(
        self, caller: Principal, view: Hashable, shape: TypeAdapter[T], compute: Callable[[], Awaitable[T]]
    ) -> bytes:
        """The JSON of `compute()`'s answer (rendered as `shape`), for `caller` and the `view` it asked
        for (the endpoint and its parsed query)."""
        key = (caller.trust_id, caller.schools, caller.see_pupils, view)
        arrived = next(self._ticks)
        for _attempt in range(3):  # a computation under way, then one of our own, suffices
            flight = self._flights.get(key)
            if flight is None:
                kept = self.cache.get(key)
                if kept is not None:
                    current = await self.read_model.still_current(caller.trust_id, kept.reads)
                    if current is not None:
                        return kept.body(LAST_UPDATED.dump_json(current.last_updated))
                    self.cache.discard(key, kept)
                flight = self._flights.get(key) or self._start(key, shape, compute)
            try:
                answer = await asyncio.shield(flight.task)
            except Exception:
                if flight.started > arrived:
                    raise
                continue  # it started before this request arrived: try again on our own
            if flight.started > arrived:
                return answer
        raise RuntimeError("unreachable: the third attempt computes after this request arrived")

    def _start(self, key: Hashable, shape: TypeAdapter[Any], compute: Callable[[], Awaitable[Any]]) -> Flight:
        flight = Flight(asyncio.create_task(self._compute(key, shape, compute)), next(self._ticks))
        self._flights[key] = flight
        flight.task.add_done_callback(_retrieved)
        return flight

    async def _compute(self, key: Hashable, shape: TypeAdapter[Any], compute: Callable[[], Awaitable[Any]]) -> bytes:
        """Compute, render and keep the answer (when all it read is versioned), then leave the
        flights as the task ends: a request that finds the task done never finds it among them."""
        self.computed += 1
        try:
            with recording() as reads:
                body = shape.dump_json(await compute(), by_alias=True)
            kept = CachedAnswer.of(body, reads)
            if reads.cacheable and reads.generations is not None:
                self.cache.put(key, kept)
            return kept.body(LAST_UPDATED.dump_json(reads.last_updated))
        finally:
            flight = self._flights.get(key)
            if flight is not None and flight.task is asyncio.current_task():
                del self._flights[key]


def _retrieved(task: asyncio.Task[bytes]) -> None:
    """The computation's exception is retrieved here (its waiters, if any, raise it themselves)."""
    if not task.cancelled():
        task.exception()
