"""The attendance projection's engine: periods dated by the dates each generation holds, and a
Trust's own dates applied by re-dating its attendance through a rebuild.

A Trust that sets its dates (`calendar-set` on `tracker.pupils.v1`, from ingest's
`PUT /v1/calendar/{academic_year}`) moves the boundaries of its periods, so every period part and
period counter it already has may be wrong. The marks themselves (the week parts) do not depend on
the dates; the period parts do. The simplest thing that is exact is what a rebuild already does:

1. the event records the dates wanted for the Trust (`Keyspace.calendar_key`, outside every
   generation, newer versions only), and wakes the follower;
2. the follower (one task per process, `follow_calendars`; one process at a time per Trust through
   `Keyspace.redating_key`) sees that the dates the live generation was counted by
   (`Keyspace.dates`) differ from those wanted, and rebuilds the Trust's attendance from ingest's
   replay (`operations.rebuild_trust`) into a new generation opened with the wanted dates
   (`open_generation`, before any writer sees it);
3. the rebuild reconciles and switches readers over: the reports show the new dates at once, for
   every week, period and year, with the gateway dating its windows by the same generation's dates.

Every generation counts by one set of dates from its first write to its last (every writer, in
every process, computes a generation's batch by the rules `rules_at` gives for it, read from the
generation itself), so the live figures stay whole while the new ones are built. Redelivery finds
the version already recorded and changes nothing; a crash mid-way leaves the wanted dates recorded
and the live generation untouched, so the follower (at the restart, or in another process) starts
the rebuild again; an abandoned generation is dropped like any failed rebuild's. Without
`REPLAY_TOKEN` nothing can be rebuilt: the dates are recorded and the follower is not started (a
warning says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from tidemark_metrics.domain.attendance import AttendanceProjection
from tidemark_runtime.projections.engine import BatchResult, ProjectionEngine
from tidemark_runtime.projections.operations import RebuildReport, live_keys, rebuild_trust
from tidemark_runtime.projections.replay import FactSource
from tidemark_runtime.projections.rules import Projection
from tidemark_runtime.redis import RedisClient
from tidemark_runtime.settings import MAX_VERSION_JUMP
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.calendar import YearDates
from tidemark_schemas.events import CalendarSnapshot, TrustCalendarSet, stored_dates

log = logging.getLogger(__name__)

WANT_LUA = """
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored and cjson.decode(stored).version >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
"""Record one academic year's wanted dates when newer than those recorded (1: recorded)."""

RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

LOCK_SECONDS = 60
"""How long the re-dating lock lives unless renewed (every third of it while the rebuild runs): a
process that dies mid-way leaves it for at most this long."""
RETRY_SECONDS = 60.0
"""How long a Trust whose re-dating failed waits before the next try."""
FOLLOW_SECONDS = 5.0
"""How often the follower looks for Trusts whose dates changed, besides being woken by the event."""
DATED_KEPT = 1024
_SNAPSHOT_FIELDS = set(CalendarSnapshot.model_fields)


def year_dates(stored: Mapping[Any, Any]) -> dict[str, YearDates]:
    """Academic year -> dates, from a `Keyspace.dates` or `calendar_key` hash."""
    return {year: snapshot.dates() for year, snapshot in stored_dates(stored).items()}


def versions(stored: Mapping[Any, Any]) -> dict[str, int]:
    """Academic year -> version of the dates, from a `Keyspace.dates` or `calendar_key` hash."""
    return {year: snapshot.version for year, snapshot in stored_dates(stored).items()}


class AttendanceEngine(ProjectionEngine):
    """The engine of `AttendanceProjection` (see the module docstring)."""

    rules: AttendanceProjection

    def __init__(
        self, redis: RedisClient, prefix: str, rules: Projection, max_version_jump: int | None = MAX_VERSION_JUMP
    ) -> None:
        if not isinstance(rules, AttendanceProjection):
            raise TypeError("the attendance engine runs the attendance projection")
        super().__init__(redis, prefix, rules, max_version_jump)
        self._dated: dict[str, AttendanceProjection] = {}
        """generation base -> the rules dated by its dates (written before the generation opens, never after)"""
        self._want = redis.register_script(WANT_LUA)
        self._release = redis.register_script(RELEASE_LUA)
        self._wake: asyncio.Event | None = None
        self._failed: dict[str, float] = {}
        """Trust -> when its last re-dating failed (monotonic)"""

    async def rules_at(self, keys: Keyspace) -> Projection:
        found = self._dated.get(keys.base)
        if found is None:
            if len(self._dated) >= DATED_KEPT:
                self._dated.clear()
            found = self._dated[keys.base] = self.rules.dated(year_dates(await self.redis.hgetall(keys.dates)))
        return found

    async def open_generation(self, keys: Keyspace) -> None:
        """A generation is counted by the Trust's dates as last set."""
        wanted: dict[Any, Any] = dict(await self.redis.hgetall(keys.calendar_key))
        if wanted:
            await self.redis.hset(keys.dates, mapping=wanted)

    async def apply(self, events: Sequence[Any]) -> BatchResult:
        await self._record_dates(events)
        return await super().apply(events)

    async def apply_facts(self, keys: Keyspace, events: Sequence[Any]) -> bool:
        """The replay brings the Trust's dates first: recorded as wanted (a Redis that lost them gets
        them back, and the follower re-dates by them)."""
        await self._record_dates(events)
        return await super().apply_facts(keys, events)

    async def _record_dates(self, events: Sequence[Any]) -> None:
        recorded = False
        for event in events:
            if isinstance(event, TrustCalendarSet):
                snapshot = event.model_dump_json(include=_SNAPSHOT_FIELDS)
                keys = self.keyspace(event.trust_id)
                if await self._want(keys=[keys.calendar_key], args=[event.academic_year, event.version, snapshot]):
                    # Another slot than the Trust's keys (a cluster): its own command, after.
                    await self.redis.sadd(keys.dated_trusts_key, event.trust_id)
                    recorded = True
        if recorded and self._wake is not None:
            self._wake.set()

    # -- re-dating ---------------------------------------------------------------------------------

    def background(self, source: Callable[[], FactSource] | None) -> list[Coroutine[Any, Any, None]]:
        if source is None:
            log.warning("attendance: no REPLAY_TOKEN: a Trust's own dates are recorded but its figures are not "
                        "re-dated by them")
            return []
        return [self.follow_calendars(source)]

    async def follow_calendars(self, source: Callable[[], FactSource], interval: float = FOLLOW_SECONDS) -> None:
        """Forever: re-date every Trust whose dates changed, when woken by one and every `interval`."""
        self._wake = asyncio.Event()
        while True:
            try:
                await self.redate_all(source)
            except Exception:  # noqa: BLE001  (logged; tried again at the next round)
                log.exception("attendance: re-dating failed; it is tried again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            self._wake.clear()

    async def redate_all(self, source: Callable[[], FactSource]) -> list[RebuildReport]:
        """Re-date each Trust whose live generation was counted by other dates than those wanted (a
        Trust whose re-dating failed is tried again after `RETRY_SECONDS`, not at every round)."""
        reports = []
        now = time.monotonic()
        for trust_id in await self.dated_trusts():
            if self._failed.get(trust_id, -RETRY_SECONDS) + RETRY_SECONDS > now or not await self.needs_redating(trust_id):
                continue
            try:
                report = await self.redate(trust_id, source)
            except Exception:
                self._failed[trust_id] = time.monotonic()
                raise
            self._failed.pop(trust_id, None)
            if report is not None:
                reports.append(report)
        return reports

    async def dated_trusts(self) -> list[str]:
        """Every Trust that has set its own dates (one small set: no scan of the keyspace)."""
        members = await self.redis.smembers(self.keyspace("").dated_trusts_key)
        return sorted(member.decode() if isinstance(member, bytes) else member for member in members)

    async def needs_redating(self, trust_id: str) -> bool:
        """Whether the live generation was counted by other dates than those wanted (not while the
        Trust is being restored: that rebuild opens its generation with the wanted dates itself)."""
        keys = self.keyspace(trust_id)
        if await self.redis.exists(keys.restoring_key):
            return False
        live = await live_keys(self.redis, keys)
        return versions(await self.redis.hgetall(keys.calendar_key)) != versions(await self.redis.hgetall(live.dates))

    async def redate(
        self, trust_id: str, source: Callable[[], FactSource], grace_seconds: float = 5.0
    ) -> RebuildReport | None:
        """Rebuild the Trust's attendance by its dates as last set (None: another process is at it)."""
        keys = self.keyspace(trust_id)
        token = secrets.token_hex(8)
        if not await self.redis.set(keys.redating_key, token, nx=True, ex=LOCK_SECONDS):
            return None
        renewing = asyncio.create_task(self._renew(keys, token))
        replay = source()
        try:
            log.info("attendance: re-dating %s by its own dates", trust_id)
            report = await rebuild_trust(self, keys, replay.facts(trust_id, self.rules.facts), grace_seconds)
            log.info("attendance: %s re-dated: generation %s, %d facts in %.1f s, %d counters moved", trust_id,
                     report.generation, report.events, report.seconds, len(report.differences_from_previous))
            return report
        finally:
            renewing.cancel()
            await replay.close()
            await self._release(keys=[keys.redating_key], args=[token])

    async def _renew(self, keys: Keyspace, token: str) -> None:
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            if (await self.redis.get(keys.redating_key)) not in (token, token.encode()):
                return
            await self.redis.expire(keys.redating_key, LOCK_SECONDS)
