"""The two dashboards (/v1/dashboards/...)."""

from __future__ import annotations

from dataclasses import dataclass

from tidemark_gateway.adapters.redis_reader import ReadModel, resolve_filter
from tidemark_gateway.domain.dashboard import SummativeDashboard, summative_dashboard
from tidemark_gateway.domain.statutory import WIDGETS, StatutoryDashboard, progress_widget, statutory_dashboard
from tidemark_gateway.domain.measures import DASHBOARD_MEASURES, GLD_RWM
from tidemark_gateway.service_layer.small_groups import SmallGroups
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import PupilFilter
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef, academic_years_up_to


@dataclass(frozen=True, slots=True)
class Dashboards:
    read_model: ReadModel
    calendar: PeriodCalendar
    small_groups: SmallGroups = SmallGroups()

    async def summative(
        self, caller: Principal, ref: PeriodRef, requested: PupilFilter
    ) -> SummativeDashboard:
        """This period's and the previous period's tiles, the window's gld_rwm series and the
        progress categories, in two reads."""
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        previous = self.calendar.previous(ref)
        window = self.calendar.window(ref.academic_year)
        views_read = [(r, measure) for r in (ref, previous) for measure in DASHBOARD_MEASURES]
        views_read += [(r, GLD_RWM) for r in window]
        counters = await reader.counters_for(views_read, scope.schools)
        progress = await reader.progress_counters([ref], scope.schools)
        return self.small_groups.marked(caller, summative_dashboard(
            ref, previous, window, counters, scope.pupil_filter, scope.directory.last_updated,
            progress_widget(progress.get(ref, []), scope.pupil_filter),
        ))

    async def statutory(
        self, caller: Principal, academic_year: str, requested: PupilFilter
    ) -> StatutoryDashboard:
        """Every headline measure this year and last, in one read."""
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        years = academic_years_up_to(academic_year, 2)
        measures = [measure for widget in WIDGETS.values() for measure in widget]
        counters = await reader.statutory_counters(years, measures, scope.schools)
        return self.small_groups.marked(caller, statutory_dashboard(
            academic_year, years[0], counters, scope.pupil_filter, scope.directory.last_updated
        ))
