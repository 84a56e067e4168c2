"""The read side: each view reads what it needs from Redis in as few round trips as it can
(schools and "last updated" in one, every counter hash in one more) and leaves the rules to the
domain. Nothing is ever recomputed from pupils or SQL on a request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

from tidemark_gateway.adapters.redis_reader import AggregateReader, resolve_filter
from tidemark_gateway.domain import dashboard, pupils, reports, statutory, trends
from tidemark_gateway.domain.gaps import GAPS
from tidemark_gateway.domain.live import ChangeNotice, visible_part
from tidemark_gateway.domain.measures import DASHBOARD_MEASURES, GLD_RWM, SUBJECT_ROWS
from tidemark_gateway.domain.periods import academic_years_shown, current_period
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import PUPILS_MEASURE, PupilFilter, model_measure
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef, academic_years_up_to
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
    latest_statutory_year: str | None


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
    window = calendar.window(ref.academic_year)
    views_read = [(r, measure) for r in (ref, previous) for measure in DASHBOARD_MEASURES]
    views_read += [(r, GLD_RWM) for r in window]
    schools = scope.pupil_filter.schools or frozenset()
    counters = await reader.counters_for(views_read, schools)
    progress = await reader.progress_counters([ref], schools)
    return dashboard.summative_dashboard(
        ref, previous, window, counters, scope.pupil_filter, scope.directory.last_updated,
        statutory.progress_widget(progress.get(ref, []), scope.pupil_filter),
    )


async def attainment_overview(
    reader: AggregateReader, principal: Principal, ref: PeriodRef, measure: str, by: str, requested: PupilFilter,
    view: str = reports.SIMPLE_VIEW,
) -> reports.AttainmentOverview:
    """The Simple view, or the School view when asked for (refused where it is not offered)."""
    scope = await resolve_filter(reader, principal, requested)
    schools = scope.pupil_filter.schools or frozenset()
    model = reports.shared_model(scope.directory.school_models, schools)
    if view == reports.SCHOOL_VIEW and (refusal := reports.school_view_refusal(measure, model)):
        raise reports.SchoolViewUnavailable(refusal)
    measures = [measure, model_measure(measure)] if view == reports.SCHOOL_VIEW else [measure]
    counters = await reader.counters([ref], measures, schools)
    return reports.attainment_overview(
        ref, measure, by, counters.get((ref, measure), []), scope.pupil_filter,
        scope.directory.school_names, scope.directory.last_updated, model,
        counters.get((ref, model_measure(measure)), []) if view == reports.SCHOOL_VIEW else None,
    )


async def progress_over_time(
    reader: AggregateReader, principal: Principal, calendar: PeriodCalendar, academic_year: str, measure: str,
    by: str, requested: PupilFilter,
) -> trends.ProgressOverTime:
    """Every period of the selected year and the two before, in one read."""
    scope = await resolve_filter(reader, principal, requested)
    window = calendar.window(academic_year)
    measures = (measure, *SUBJECT_ROWS) if by == trends.BY_SUBJECT else (measure,)
    counters = await reader.counters(window, measures, scope.pupil_filter.schools or frozenset())
    return trends.progress_over_time(
        window, measure, by, counters, scope.pupil_filter, scope.directory.school_names, scope.directory.last_updated
    )


async def gap_report(
    reader: AggregateReader, principal: Principal, calendar: PeriodCalendar, academic_year: str, gap: str,
    subject: str, requested: PupilFilter,
) -> trends.GapReport:
    """The 3-year window and the period just before it (so that its first period has a comparison)."""
    scope = await resolve_filter(reader, principal, requested)
    window = calendar.window(academic_year)
    before = calendar.previous(window[0])
    counters = await reader.counters([before, *window], [subject], scope.pupil_filter.schools or frozenset())
    return trends.gap_report(
        gap, GAPS[gap], subject, before, window, counters, scope.pupil_filter, scope.directory.last_updated
    )


async def pupil_overview(
    reader: AggregateReader, principal: Principal, ref: PeriodRef, by: str, requested: PupilFilter
) -> pupils.PupilOverview:
    scope = await resolve_filter(reader, principal, requested)
    counters = await reader.counters([ref], [PUPILS_MEASURE], scope.pupil_filter.schools or frozenset())
    return pupils.pupil_overview(
        ref, by, counters.get((ref, PUPILS_MEASURE), []), scope.pupil_filter,
        scope.directory.school_names, scope.directory.last_updated,
    )


async def data_completion(
    reader: AggregateReader, principal: Principal, ref: PeriodRef, requested: PupilFilter
) -> pupils.DataCompletion:
    scope = await resolve_filter(reader, principal, requested)
    schools = scope.pupil_filter.schools or frozenset()
    subjects = [subject for subjects in pupils.COMPLETION_SUBJECTS.values() for subject in subjects]
    found = await reader.completion(ref, subjects, schools)
    return pupils.data_completion(
        ref, schools, scope.directory.school_names, found.roll, found.entered, found.locked,
        scope.directory.last_updated,
    )


async def statutory_dashboard(
    reader: AggregateReader, principal: Principal, academic_year: str, requested: PupilFilter
) -> statutory.StatutoryDashboard:
    """Every headline measure this year and last, in one read."""
    scope = await resolve_filter(reader, principal, requested)
    years = academic_years_up_to(academic_year, 2)
    measures = [measure for widget in statutory.WIDGETS.values() for measure in widget]
    counters = await reader.statutory_counters(years, measures, scope.pupil_filter.schools or frozenset())
    return statutory.statutory_dashboard(
        academic_year, years[0], counters, scope.pupil_filter, scope.directory.last_updated
    )


async def statutory_report(
    reader: AggregateReader, principal: Principal, academic_year: str, measure: str, by: str, requested: PupilFilter
) -> statutory.StatutoryReport:
    scope = await resolve_filter(reader, principal, requested)
    years = academic_years_up_to(academic_year, 2)
    counters = await reader.statutory_counters(years, [measure], scope.pupil_filter.schools or frozenset())
    return statutory.statutory_report(
        measure, by, academic_year, years[0], counters, scope.pupil_filter, scope.directory.school_names,
        scope.directory.last_updated,
    )


async def progress_report(
    reader: AggregateReader, principal: Principal, ref: PeriodRef, by: str, category: str | None,
    with_pupils: bool, requested: PupilFilter,
) -> statutory.ProgressReport:
    """Counts per category by group; the list of pupils only for callers allowed to see pupils."""
    if with_pupils and not principal.see_pupils:
        raise PupilsNotVisible()
    scope = await resolve_filter(reader, principal, requested)
    schools = scope.pupil_filter.schools or frozenset()
    counters = await reader.progress_counters([ref], schools)
    entries = await reader.progress_pupils(ref, schools) if with_pupils else None
    return statutory.progress_report(
        ref, by, category, counters.get(ref, []), scope.pupil_filter, scope.directory.school_names,
        scope.directory.last_updated, entries,
    )


class PupilsNotVisible(Exception):
    """The caller's token does not allow pupil-level data (HTTP 403)."""


async def visible_schools(reader: AggregateReader, principal: Principal) -> list[School]:
    directory = await reader.directory()
    visible = [School(s, name) for s, name in directory.school_names.items() if principal.may_see(s)]
    return sorted(visible, key=lambda school: (school.name.casefold(), school.school_id))


async def calendar_view(
    reader: AggregateReader, principal: Principal, calendar: PeriodCalendar, today: date
) -> CalendarView:
    """What the period selector offers, and where pages should open: the latest period with data,
    since the current period usually has none until teachers lock their results, and for the
    statutory pages the latest year with statutory results (this year's arrive in the summer)."""
    years = academic_years_shown(today)
    directory = await reader.directory()
    schools = [school for school in directory.school_names if principal.may_see(school)]
    refs = [PeriodRef(year, period) for year in years for period in calendar.periods]
    latest = await reader.latest_with_data(refs, DATA_MARKERS, schools)
    statutory_year = await reader.latest_statutory_year(years, statutory.RESULT_MARKERS, schools)
    return CalendarView(years, list(calendar.periods), current_period(calendar, today), latest, statutory_year)


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
