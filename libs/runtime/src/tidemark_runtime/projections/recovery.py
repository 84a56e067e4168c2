"""Keeps a projection's read model whole without anyone's help.

Three ways a projection's read model silently stops matching the SQL store, each noticed here and
repaired by a rebuild from ingest's replay (`operations.rebuild_trust`), while the consumers keep
applying what arrives:

- **Redis lost its data** (a new or flushed Redis, a lost disk). Every projection keeps an *epoch*
  key in Redis, written once its read model is whole. No epoch while the SQL store holds Trusts
  means the read model is gone: every Trust is rebuilt (an empty store just gets its epoch).
- **The broker lost events** (the embedded broker keeps topics in memory; a Kafka cluster can lose
  an unreplicated log). The broker's *incarnation* (`kafka.broker_incarnation`: the first record of
  a one-partition topic, written by whoever finds it missing) is kept beside the epoch: a different
  one means whatever was published before and not yet consumed is gone. Likewise a partition
  whose log shrank, or is empty though the consumer group had committed an offset in it.
- **The code counts in another layout** (an upgrade changed the counter cells' shape or a
  projection's rules: `Projection.layout`). The layout is kept beside the epoch (`Keyspace.layout_key`;
  none beside an epoch: counted before layouts were recorded). Every Trust is rebuilt in the running
  code's layout, then the layout recorded: an upgrade needs no manual rebuild. The figures of the
  old layout are served meanwhile (they lack only what the new one adds). A rebuild succeeds once
  no process of the old version writes any more (it would write old cells into the new generation,
  which then does not reconcile, and is tried again).

While a Trust is rebuilt because the read model or events were lost, its *restoring* key
(`Keyspace.restoring_key`) is set: the gateway answers 503 for it instead of figures that are
wrong; the rebuild's switch clears it. The checks run every `interval` seconds; when several processes host the projection,
a lock in Redis lets one of them recover at a time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from tidemark_runtime.observability.metrics import RebuildProgress
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import RebuildFailed, rebuild_trust
from tidemark_runtime.projections.replay import FactSource
from tidemark_runtime.redis import RedisClient

log = logging.getLogger(__name__)

State = Literal["starting", "ok", "rebuilding", "failed"]

LOCK_SECONDS = 30


@dataclass(frozen=True)
class Finding:
    """Why (some) Trusts must be rebuilt."""

    reason: str
    trust_ids: tuple[str, ...]
    incarnation: str | None = None
    """The broker incarnation to record once they are rebuilt."""
    broker_reset: bool = False
    """The broker lost its events (and the consumer group its place)."""
    layout: str | None = None
    """The layout to record once they are rebuilt (only the layout changed)."""

    @property
    def serve_meanwhile(self) -> bool:
        """Whether the figures stay served while the Trusts are rebuilt (a layout change: they are
        right but for what the new layout adds), rather than 503 (restoring)."""
        return self.layout is not None and self.incarnation is None


@dataclass
class Recovery:
    """The watchdog of one projection in one process."""

    engine: ProjectionEngine
    incarnation: Callable[[], Awaitable[str]]
    """The broker's current incarnation (`kafka.broker_incarnation`)."""
    source: Callable[[], FactSource]
    """Opens ingest's replay (`replay.HttpReplay`)."""
    positions: Callable[[], Awaitable[dict[str, tuple[int | None, int]]]] = lambda: _none()
    """Per partition of its topics, the consumer group's committed offset and the end of the log
    (`kafka.group_positions`)."""
    interval: float = 5.0
    grace_seconds: float = 5.0
    state: State = "starting"
    rebuilding: set[str] = field(default_factory=set)
    last_finding: Finding | None = None
    recoveries: int = 0
    last_check: float = 0.0
    _owner: str = field(default_factory=lambda: secrets.token_hex(8))
    _seen_ends: dict[str, int] = field(default_factory=dict)

    @property
    def redis(self) -> RedisClient:
        return self.engine.redis

    @property
    def _prefix(self) -> str:
        """The projection's own prefix (metrics `tm`, statutory `tm-statutory`, ...)."""
        return self.engine.keyspace("").prefix

    @property
    def epoch_key(self) -> str:
        return self.engine.keyspace("").epoch_key

    @property
    def incarnation_key(self) -> str:
        return f"{self._prefix}:broker-incarnation"

    @property
    def layout_key(self) -> str:
        return self.engine.keyspace("").layout_key

    @property
    def layout(self) -> str:
        return self.engine.rules.layout

    @property
    def lock_key(self) -> str:
        return f"{self._prefix}:recovery-lock"

    async def check(self) -> Finding | None:
        """What must be rebuilt now, if anything (records a fresh store's epoch and incarnation)."""
        incarnation = await self.incarnation()
        epoch, stored = await self.redis.get(self.epoch_key), await self.redis.get(self.incarnation_key)
        source = self.source()
        try:
            in_store = await source.trust_ids()
        finally:
            await source.close()
        if epoch is None:
            if not in_store:
                await self._record(incarnation)
                return None
            return Finding("the read model is missing from Redis (new, flushed or lost)", tuple(in_store), incarnation)
        if stored is not None and _text(stored) != incarnation:
            return Finding("the broker restarted without its events (a new incarnation)", tuple(in_store), incarnation,
                           broker_reset=True)
        if lost := await self._logs_lost():
            return Finding(f"the broker's log lost records the consumers had read ({'; '.join(lost)})",
                           tuple(in_store), incarnation)
        if stored is None:
            await self.redis.set(self.incarnation_key, incarnation)
        counted_in = await self.redis.get(self.layout_key)
        if counted_in is not None and _text(counted_in) == self.layout:
            return None
        if not in_store:
            await self.redis.set(self.layout_key, self.layout)
            return None
        was = f"layout {_text(counted_in)!r}" if counted_in is not None else "a layout from before layouts were recorded"
        return Finding(f"the read model was counted in {was}; this version counts in layout {self.layout!r}",
                       tuple(in_store), layout=self.layout)

    async def recover(self, finding: Finding) -> bool:
        """Rebuild the Trusts of `finding` (restoring keys set meanwhile); True when all switched."""
        if not await self.redis.set(self.lock_key, self._owner, nx=True, ex=LOCK_SECONDS):
            return False  # another process of this projection is recovering
        self.state, self.last_finding = "rebuilding", finding
        log.warning("%s: %s; rebuilding %d Trust(s) from the SQL store", self.engine.rules.name, finding.reason,
                    len(finding.trust_ids))
        keeper = asyncio.create_task(self._keep_lock())
        try:
            for trust_id in () if finding.serve_meanwhile else finding.trust_ids:  # 503 until each is rebuilt
                await self.redis.set(self.engine.keyspace(trust_id).restoring_key, finding.reason)
            source = self.source()
            progress = RebuildProgress(self.engine.rules.name, len(finding.trust_ids))
            try:
                for trust_id in finding.trust_ids:
                    self.rebuilding.add(trust_id)
                    started = time.perf_counter()
                    facts = source.facts(trust_id, self.engine.rules.facts)
                    report = await rebuild_trust(self.engine, self.engine.keyspace(trust_id), facts,
                                                 grace_seconds=self.grace_seconds)
                    self.rebuilding.discard(trust_id)
                    progress.trust_done()
                    log.warning("%s: Trust %s rebuilt (%d facts) in %.1f s; %d counters differed",
                                self.engine.rules.name, trust_id, report.events, time.perf_counter() - started,
                                len(report.differences_from_previous))
            finally:
                await source.close()
            if finding.incarnation is not None:
                await self._record(finding.incarnation)
            elif finding.layout is not None:
                await self.redis.set(self.layout_key, finding.layout)
            self.recoveries += 1
            self.state = "ok"
            return True
        except (RebuildFailed, OSError) as error:
            self.state = "failed"
            log.error("%s: recovery failed (%s); trying again", self.engine.rules.name, error)
            return False
        finally:
            self.rebuilding.clear()
            keeper.cancel()
            if await self.redis.get(self.lock_key) in (self._owner, self._owner.encode()):
                await self.redis.delete(self.lock_key)

    async def step(self) -> None:
        """One check, and the recovery it calls for."""
        self.last_check = time.monotonic()
        finding = await self.check()
        if finding is None:
            self.state = "ok"
            return
        await self.recover(finding)

    async def run_forever(self, on_broker_reset: Callable[[], None] | None = None) -> None:
        """Check every `interval` seconds (every half second until the first check succeeds: a
        Trust posted to a fresh store before it would be rebuilt for nothing). A broker that lost
        its events while this process ran also lost the consumer group's place: `on_broker_reset`
        (the process stops, to be started again with a fresh consumer that recovers at start) is
        called instead of recovering in place."""
        first = True
        while True:
            try:
                finding = await self.check()
                self.last_check = time.monotonic()
                if finding is None:
                    self.state = "ok"
                elif finding.broker_reset and not first and on_broker_reset is not None:
                    log.error("%s: %s: restarting to consume the new broker afresh", self.engine.rules.name,
                              finding.reason)
                    on_broker_reset()
                    return
                else:
                    await self.recover(finding)
                first = False
            except asyncio.CancelledError:
                raise
            except Exception:  # the replay, Redis or the broker is away: say so, try again
                if self.state != "starting":
                    self.state = "failed"
                    log.exception("%s: recovery check failed; trying again in %.0f s", self.engine.rules.name,
                                  self.interval)
            await asyncio.sleep(min(self.interval, 0.5) if self.state == "starting" else self.interval)

    async def _logs_lost(self) -> list[str]:
        """Partitions whose log shrank since the last look, or is empty though the group committed
        an offset in it (a topic deleted and made again)."""
        lost = []
        positions = await self.positions()
        for partition, (committed, end) in positions.items():
            seen = self._seen_ends.get(partition, 0)
            if end < seen:
                lost.append(f"{partition}: the log ended at {seen}, now at {end}")
            elif end == 0 and committed:
                lost.append(f"{partition}: empty, though offset {committed} was committed")
        self._seen_ends = {partition: end for partition, (_committed, end) in positions.items()}
        return lost

    async def _record(self, incarnation: str) -> None:
        """The read model is whole, in this code's layout, as of this broker incarnation."""
        await self.redis.set(self.incarnation_key, incarnation)
        await self.redis.set(self.layout_key, self.layout)
        await self.redis.set(self.epoch_key, str(int(time.time())))

    async def _keep_lock(self) -> None:
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            await self.redis.set(self.lock_key, self._owner, ex=LOCK_SECONDS)


async def _none() -> dict[str, tuple[int | None, int]]:
    return {}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
