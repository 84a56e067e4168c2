"""The report pages (/v1/reports/...)."""

from __future__ import annotations

from dataclasses import dataclass

from tidemark_gateway.adapters.redis_reader import ReadModel, resolve_filter
from tidemark_gateway.domain import pupils, reports, statutory, trends
from tidemark_gateway.domain.gaps import GAPS
from tidemark_gateway.domain.measures import SUBJECT_ROWS
from tidemark_gateway.service_layer.small_groups import SmallGroups
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import PUPILS_MEASURE, PupilFilter, model_measure
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef, academic_years_up_to


@dataclass(frozen=True, slots=True)
class Reports:
    read_model: ReadModel
    calendar: PeriodCalendar
    small_groups: SmallGroups = SmallGroups()

    async def attainment(
        self, caller: Principal, ref: PeriodRef, measure: str, by: str, requested: PupilFilter
    ) -> reports.AttainmentReport:
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        counters = await reader.counters([ref], [measure], scope.schools)
        return self.small_groups.marked(caller, reports.attainment_report(
            ref, measure, by, counters.get((ref, measure), []), scope.pupil_filter,
            scope.directory.school_names, scope.directory.last_updated,
        ))

    async def attainment_overview(
        self, caller: Principal, ref: PeriodRef, measure: str, by: str, requested: PupilFilter,
        view: reports.View = reports.SIMPLE_VIEW,
    ) -> reports.AttainmentOverview:
        """The Simple view, or the School view when asked for (refused where it is not offered)."""
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        model = reports.shared_model(scope.directory.school_models, scope.schools)
        if view == reports.SCHOOL_VIEW and (refusal := reports.school_view_refusal(measure, model)):
            raise reports.SchoolViewUnavailable(refusal)
        school_view = view == reports.SCHOOL_VIEW
        measures = [measure, model_measure(measure)] if school_view else [measure]
        counters = await reader.counters([ref], measures, scope.schools)
        return self.small_groups.marked(caller, reports.attainment_overview(
            ref, measure, by, counters.get((ref, measure), []), scope.pupil_filter,
            scope.directory.school_names, scope.directory.last_updated, model,
            counters.get((ref, model_measure(measure)), []) if school_view else None,
        ))

    async def progress_over_time(
        self, caller: Principal, academic_year: str, measure: str, by: str, requested: PupilFilter
    ) -> trends.ProgressOverTime:
        """Every period of the selected year and the two before, in one read."""
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        window = self.calendar.window(academic_year)
        measures = (measure, *SUBJECT_ROWS) if by == trends.BY_SUBJECT else (measure,)
        counters = await reader.counters(window, measures, scope.schools)
        return self.small_groups.marked(caller, trends.progress_over_time(
            window, measure, by, counters, scope.pupil_filter, scope.directory.school_names,
            scope.directory.last_updated,
        ))

    async def gaps(
        self, caller: Principal, academic_year: str, gap: str, subject: str, requested: PupilFilter
    ) -> trends.GapReport:
        """The 3-year window and the period just before it (so that its first period has a comparison)."""
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        window = self.calendar.window(academic_year)
        before = self.calendar.previous(window[0])
        counters = await reader.counters([before, *window], [subject], scope.schools)
        return self.small_groups.marked(caller, trends.gap_report(
            gap, GAPS[gap], subject, before, window, counters, scope.pupil_filter, scope.directory.last_updated
        ))

    async def pupil_overview(
        self, caller: Principal, ref: PeriodRef, by: str, requested: PupilFilter
    ) -> pupils.PupilOverview:
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        counters = await reader.counters([ref], [PUPILS_MEASURE], scope.schools)
        return pupils.pupil_overview(
            ref, by, counters.get((ref, PUPILS_MEASURE), []), scope.pupil_filter,
            scope.directory.school_names, scope.directory.last_updated,
        )

    async def data_completion(
        self, caller: Principal, ref: PeriodRef, requested: PupilFilter
    ) -> pupils.DataCompletion:
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        subjects = [subject for subjects in pupils.COMPLETION_SUBJECTS.values() for subject in subjects]
        found = await reader.completion(ref, subjects, scope.schools)
        return pupils.data_completion(
            ref, scope.schools, scope.directory.school_names, found.roll, found.entered, found.locked,
            scope.directory.last_updated,
        )

    async def statutory_results(
        self, caller: Principal, academic_year: str, measure: str, by: str, requested: PupilFilter
    ) -> statutory.StatutoryReport:
        """One measure this year and last, in one read."""
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        years = academic_years_up_to(academic_year, 2)
        counters = await reader.statutory_counters(years, [measure], scope.schools)
        return self.small_groups.marked(caller, statutory.statutory_report(
            measure, by, academic_year, years[0], counters, scope.pupil_filter, scope.directory.school_names,
            scope.directory.last_updated,
        ))

    async def progress_from_statutory(
        self, caller: Principal, ref: PeriodRef, by: str, category: str | None, with_pupils: bool,
        requested: PupilFilter,
    ) -> statutory.ProgressReport:
        """Counts per category by group, and the list of pupils when asked for. Whether the caller
        may see pupils is the route's permission check (`Permission.READ_PUPILS`), made before this."""
        reader = await self.read_model.reader(caller.trust_id)
        scope = await resolve_filter(reader, caller, requested)
        counters = await reader.progress_counters([ref], scope.schools)
        entries = await reader.progress_pupils(ref, scope.schools) if with_pupils else None
        return self.small_groups.marked(caller, statutory.progress_report(
            ref, by, category, counters.get(ref, []), scope.pupil_filter, scope.directory.school_names,
            scope.directory.last_updated, entries,
        ))
