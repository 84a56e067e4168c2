"""What every page needs to draw itself (/v1/schools, /v1/classes, /v1/calendar, /v1/progress-categories)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from tidemark_gateway.adapters.attendance_reader import AttendanceReader
from tidemark_gateway.adapters.redis_reader import ReadModel, ReadModelRestoring
from tidemark_gateway.domain import statutory
from tidemark_gateway.domain.periods import CalendarView, academic_years_shown, current_period
from tidemark_gateway.domain.scope import School, SchoolClass, visible_classes, visible_schools
from tidemark_runtime.settings import Principal
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef
from tidemark_schemas.vocabulary import EYFS_GOALS

DATA_MARKERS: tuple[str, ...] = ("reading", EYFS_GOALS[0])
"""Measures whose counters show that a period has data: reading in Years 1-6, the first goal in Reception."""


@dataclass(frozen=True, slots=True)
class Reference:
    read_model: ReadModel
    calendar: PeriodCalendar
    today: Callable[[], date]

    async def schools(self, caller: Principal) -> list[School]:
        reader = await self.read_model.reader(caller.trust_id)
        return visible_schools(caller, (await reader.directory()).school_names)

    async def classes(self, caller: Principal, school_id: str | None, academic_year: str | None) -> list[SchoolClass]:
        reader = await self.read_model.reader(caller.trust_id)
        return visible_classes(caller, (await reader.directory()).classes, school_id, academic_year)

    async def current_period(self, caller: Principal, today: date) -> PeriodRef:
        """The period `today` falls in, by the Trust's own dates where it set them."""
        return current_period(await self._dated(caller), today)

    async def calendar_view(self, caller: Principal, today: date, current: PeriodRef) -> CalendarView:
        """What the period selector offers, and where pages should open: the latest period with data,
        since the current period usually has none until teachers lock their results, and for the
        statutory pages the latest year with statutory results (this year's arrive in the summer).
        `current`: today's period (`current_period`), read apart: the kept answer does not cover the
        Trust's dates."""
        years = academic_years_shown(today)
        reader = await self.read_model.reader(caller.trust_id)
        directory = await reader.directory()
        schools = [school for school in directory.school_names if caller.may_see(school)]
        refs = [PeriodRef(year, period) for year in years for period in self.calendar.periods]
        latest = await reader.latest_with_data(refs, DATA_MARKERS, schools)
        statutory_year = await reader.latest_statutory_year(years, statutory.RESULT_MARKERS, schools)
        return CalendarView(
            years, list(self.calendar.periods), current, latest, statutory_year
        )

    async def _dated(self, caller: Principal) -> PeriodCalendar:
        """The Trust's periods in its own dates where it set them (as its attendance is counted),
        else the English default (also while its attendance is being restored)."""
        try:
            return (await AttendanceReader.of(self.read_model, caller.trust_id)).calendar(self.calendar)
        except ReadModelRestoring:
            return self.calendar

    @staticmethod
    def progress_categories() -> list[statutory.Category]:
        """Every Level of Progress Made with its label, in display order."""
        return list(statutory.CATEGORIES)
