"""What the gateway reads of the attendance projection, for one Trust: per window and school, the
sessions-by-code and enrolments hashes (`Keyspace.attendance_sessions`, `attendance_pupils`), and
per period and measure the attainment by attendance band (`attendance_attainment`), in the
generation its readers use now, through the never-stale counter cache; and the persistent
absentees of a window by pupil (`attendance_absentees`), read afresh (a pupil list is never kept);
and the Trust's own dates the generation was counted by (`Keyspace.dates`), which date its windows."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from typing import cast

from tidemark_gateway.adapters.redis_reader import ReadModel, ReadModelRestoring
from tidemark_gateway.domain.attendance import WindowCounters
from tidemark_gateway.domain.counter_arrays import CounterHash
from tidemark_schemas.aggregates import Keyspace, attendance_keyspace
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.events import stored_dates

Window = tuple[str, str]
"""(academic year, window): YTD, a period, or a week by its Monday."""


DATED_KEPT = 256


@functools.lru_cache(maxsize=DATED_KEPT)
def _dated(periods: tuple[str, ...], stored: frozenset[tuple[str, str]]) -> PeriodCalendar:
    """A calendar dated by a generation's stored dates (kept: a generation's dates never change, and
    a calendar keeps its periods' spans)."""
    return PeriodCalendar(periods, {year: snapshot.dates() for year, snapshot in stored_dates(dict(stored)).items()})


class AttendanceReader:
    def __init__(
        self, read_model: ReadModel, keys: Keyspace, updated_at: str | None = None,
        dates: Mapping[str, str] | None = None,
    ) -> None:
        self._redis = read_model.redis
        self._cache = read_model.counters
        self._keys = keys
        self.updated_at = updated_at
        """When the attendance projection last applied a change (ISO), None before any."""
        self.dates = dict(dates or {})
        """Academic year -> the Trust's own dates its figures were counted by (`Keyspace.dates`, as
        stored: `CalendarSnapshot` JSON); a year absent has the English default."""

    def calendar(self, periods: PeriodCalendar) -> PeriodCalendar:
        """The Trust's periods dated as its attendance was counted: by its own dates where it set
        them, else `periods`' (the English default)."""
        return _dated(periods.periods, frozenset(self.dates.items())) if self.dates else periods

    @classmethod
    async def of(cls, read_model: ReadModel, trust_id: str) -> AttendanceReader:
        """The Trust's attendance keys at their current generation; refuses (`ReadModelRestoring`)
        while the attendance read model is being restored."""
        keys = attendance_keyspace(read_model.prefix, trust_id)
        generation, restoring = cast(list[str | None],
                                     await read_model.redis.mget(keys.generation_key, keys.restoring_key))
        if restoring is not None:
            raise ReadModelRestoring(restoring)
        current = keys.at(generation or "")
        async with read_model.redis.pipeline(transaction=False) as pipe:
            pipe.get(current.updated_at)
            pipe.hgetall(current.dates)
            updated_at, dates = await pipe.execute()
        return cls(read_model, current, cast(str | None, updated_at), cast(dict[str, str], dates))

    async def windows(self, windows: Iterable[Window], schools: Collection[str]) -> dict[Window, WindowCounters]:
        """Both hashes of every window and school, in two round trips (versions, then what the
        cache lacks)."""
        asked = list(dict.fromkeys(windows))
        wanted = [(window, school) for window in asked for school in sorted(schools)]
        keys = [key for (year, window), school in wanted
                for key in (self._keys.attendance_sessions(year, window, school),
                            self._keys.attendance_pupils(year, window, school))]
        replies = await self._cache.fetch(self._redis, self._keys.versions, keys)
        sessions: dict[Window, list[tuple[str, CounterHash]]] = {}
        pupils: dict[Window, list[tuple[str, CounterHash]]] = {}
        for index, (window, school) in enumerate(wanted):
            session_hash, pupil_hash = replies[2 * index], replies[2 * index + 1]
            if session_hash:
                sessions.setdefault(window, []).append((school, session_hash))
            if pupil_hash:
                pupils.setdefault(window, []).append((school, pupil_hash))
        return {window: WindowCounters(sessions.get(window, []), pupils.get(window, [])) for window in asked}

    async def attainment(
        self, academic_year: str, period: str, measures: Iterable[str], schools: Collection[str]
    ) -> list[tuple[str, CounterHash]]:
        """(school, hash) of pupils per attendance band and result band, for each stored measure."""
        wanted = [(measure, school) for measure in measures for school in sorted(schools)]
        keys = [self._keys.attendance_attainment(academic_year, period, measure, school) for measure, school in wanted]
        replies = await self._cache.fetch(self._redis, self._keys.versions, keys)
        return [(school, found) for (_measure, school), found in zip(wanted, replies, strict=True) if found]

    async def absentees(self, academic_year: str, window: str, schools: Collection[str]) -> list[tuple[str, str]]:
        """(school, "pupil_id|cell|absent:possible") of every persistent absentee enrolment in the window."""
        ordered = sorted(schools)
        if not ordered:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for school in ordered:
                pipe.hkeys(self._keys.attendance_absentees(academic_year, window, school))
            replies: list[list[str]] = await pipe.execute()
        return [(school, entry) for school, entries in zip(ordered, replies, strict=True) for entry in entries]

    async def weeks_with_marks(self, academic_year: str, weeks: Iterable[str], schools: Collection[str]) -> list[str]:
        """Those of `weeks` with a sessions hash in any of the schools."""
        ordered = list(weeks)
        if not schools:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for week in ordered:
                pipe.exists(*(self._keys.attendance_sessions(academic_year, week, school) for school in sorted(schools)))
            counts: list[int] = await pipe.execute()
        return [week for week, count in zip(ordered, counts, strict=True) if count]
