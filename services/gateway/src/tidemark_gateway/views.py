"""The read side: each view reads what it needs from Redis in as few round trips as it can
(schools and "last updated" in one, every counter hash in one more) and leaves the rules to the
domain. Nothing is ever recomputed from pupils or SQL on a request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

from tidemark_gateway.adapters.redis_reader import AggregateReader, resolve_filter
from tidemark_gateway.domain import dashboard, reports
from tidemark_gateway.domain.live import ChangeNotice, visible_part
from tidemark_gateway.domain.measures import PRIMARY_OVERVIEW
from tidemark_gateway.domain.periods import academic_years_shown, current_period
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import PupilFilter
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef
from tidemark_schemas.vocabulary import EYFS_GOALS

DATA_MARKERS: tuple[str, ...] = ("reading", EYFS_GOALS[0])
"""Measures whose counters show that a period has data: reading in Years 1-6, the first goal in Reception."""


@dataclass(frozen=True, slots=True)
class School:
    school_id: str
    name: str


@dataclass(frozen=True, slots=True)
class CalendarView:
    academic_years: list[str]
    periods: list[str]
    current: PeriodRef
    latest_with_data: PeriodRef | None


async def attainment_report(
    reader: AggregateReader, principal: Principal, ref: PeriodRef, measure: str, by: str, requested: PupilFilter
) -> reports.AttainmentReport:
    scope = await resolve_filter(reader, principal, requested)
    schools = scope.pupil_filter.schools or frozenset()
    counters = await reader.counters([ref], [measure], schools)
    return reports.attainment_report(
        ref,
        measure,
        by,
        counters.get((ref, measure), []),
        scope.pupil_filter,
        scope.directory.school_names,
        scope.directory.last_updated,
    )


async def summative_dashboard(
    reader: AggregateReader, principal: Principal, calendar: PeriodCalendar, ref: PeriodRef, requested: PupilFilter
) -> dashboard.SummativeDashboard:
    scope = await resolve_filter(reader, principal, requested)
    previous = calendar.previous(ref)
    counters = await reader.counters([ref, previous], PRIMARY_OVERVIEW, scope.pupil_filter.schools or frozenset())
    return dashboard.summative_dashboard(ref, previous, counters, scope.pupil_filter, scope.directory.last_updated)


async def visible_schools(reader: AggregateReader, principal: Principal) -> list[School]:
    directory = await reader.directory()
    visible = [School(s, name) for s, name in directory.school_names.items() if principal.may_see(s)]
    return sorted(visible, key=lambda school: (school.name.casefold(), school.school_id))


async def calendar_view(
    reader: AggregateReader, principal: Principal, calendar: PeriodCalendar, today: date
) -> CalendarView:
    """What the period selector offers, and where it should open: the latest period with data,
    since the current period usually has none until teachers lock their results."""
    years = academic_years_shown(today)
    directory = await reader.directory()
    schools = [school for school in directory.school_names if principal.may_see(school)]
    refs = [PeriodRef(year, period) for year in years for period in calendar.periods]
    latest = await reader.latest_with_data(refs, DATA_MARKERS, schools)
    return CalendarView(years, list(calendar.periods), current_period(calendar, today), latest)


async def live_notices(
    reader: AggregateReader, principal: Principal, after: str | None, block_ms: int, count: int
) -> AsyncIterator[ChangeNotice | None]:
    """Notices the caller may see, from just after stream id `after` (or else from now), forever.
    The starting point is fixed when this returns, so nothing published after that is missed."""
    return _follow(reader, principal, after or await reader.last_notice_id(), block_ms, count)


async def _follow(
    reader: AggregateReader, principal: Principal, position: str, block_ms: int, count: int
) -> AsyncIterator[ChangeNotice | None]:
    """Yields None whenever a blocking read times out, so the caller can send a heartbeat."""
    while True:
        notices = await reader.notices_after(position, block_ms, count)
        if not notices:
            yield None
        for notice in notices:
            position = notice.id
            if (visible := visible_part(notice, principal)) is not None:
                yield visible
