"""Reading back what was entered: a school's pupils and results of one period (summative) or one
academic year (statutory), narrowed to a year group and/or a class, each result with its
assessment date. The entry grid draws itself from these (`GET /v1/results`,
`GET /v1/statutory/results`).

The pupils listed are those the selection names in that academic year: the school's pupils in the
year group (their year group then: the record's is the current one, one less per year back) or in
the class (their class in that year), and every pupil with a result in the selection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tidemark_ingest.adapters.store import IngestStore
from tidemark_ingest.domain.facts import ClassState, PupilState, values_of
from tidemark_ingest.domain.validation import FieldError
from tidemark_schemas.calendar import first_day_of
from tidemark_schemas.events import AssessmentSnapshot, StatutorySnapshot
from tidemark_schemas.rules import year_group_on
from tidemark_schemas.statutory import Assessment
from tidemark_schemas.vocabulary import YearGroup


class SelectionRefused(Exception):
    """The selection names a school or class the Trust does not have (422 naming the field)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class PupilEntry:
    """A pupil of the selection, as the grid lists them."""

    pupil_id: str
    year_group: Annotated[YearGroup | None, Field(description="Their year group in the selection's academic year")]
    class_id: Annotated[str | None, Field(description="Their class in the selection's academic year")]
    left_on: date | None


@dataclass(frozen=True, slots=True)
class ClassEntry:
    class_id: str
    name: str
    year_groups: list[YearGroup]


@dataclass(frozen=True, slots=True)
class SummativeResults:
    school_id: str
    academic_year: str
    period: str
    classes: Annotated[list[ClassEntry], Field(description="The school's classes of the academic year, by name")]
    pupils: Annotated[list[PupilEntry], Field(description="The selection's pupils, by id")]
    results: Annotated[list[AssessmentSnapshot], Field(
        description="Their results of the period: the draft (entered) and counted (locked) value, the assessment "
        "date (`assessed_on`) and the version, by pupil and subject")]


@dataclass(frozen=True, slots=True)
class StatutoryResults:
    school_id: str
    academic_year: str
    classes: Annotated[list[ClassEntry], Field(description="The school's classes of the academic year, by name")]
    pupils: Annotated[list[PupilEntry], Field(description="The selection's pupils, by id")]
    results: Annotated[list[StatutorySnapshot], Field(
        description="Their statutory results of the year with their assessment dates, by pupil, assessment and "
        "component")]


@dataclass(frozen=True, slots=True)
class Selection:
    school_id: str
    academic_year: str
    year_group: YearGroup | None = None
    class_id: str | None = None


def pupil_entry(pupil: PupilState, academic_year: str, today: date) -> PupilEntry:
    year_group = year_group_on(pupil.year_group, first_day_of(academic_year), pupil.left_on or today)
    return PupilEntry(pupil.pupil_id, year_group, pupil.classes.get(academic_year), pupil.left_on)


def selected(entry: PupilEntry, selection: Selection) -> bool:
    return ((selection.year_group is None or entry.year_group == selection.year_group)
            and (selection.class_id is None or entry.class_id == selection.class_id))


@dataclass(frozen=True, slots=True)
class Results:
    sessions: async_sessionmaker[AsyncSession]
    today: Callable[[], date] = date.today

    async def summative(self, trust_id: str, selection: Selection, period: str) -> SummativeResults:
        async with self.sessions() as session:
            store = IngestStore(session, trust_id)
            classes = await self._check(store, selection)
            found = await store.results_of(selection.school_id, selection.academic_year, period)
            pupils = await self._pupils(store, selection, [r.pupil_id for r in found])
        ids = {p.pupil_id for p in pupils}
        # the store's states are built unvalidated (`IngestStore`): validated here into the contract's types
        results = [AssessmentSnapshot.model_validate(values_of(r)) for r in found if r.pupil_id in ids
                   and (selection.year_group is None or r.year_group == selection.year_group)]
        return SummativeResults(selection.school_id, selection.academic_year, period, classes, pupils, results)

    async def statutory(self, trust_id: str, selection: Selection, assessment: Assessment | None) -> StatutoryResults:
        async with self.sessions() as session:
            store = IngestStore(session, trust_id)
            classes = await self._check(store, selection)
            found = [r for r in await store.statutory_of(selection.school_id, selection.academic_year)
                     if assessment is None or r.assessment == assessment]
            pupils = await self._pupils(store, selection, [r.pupil_id for r in found])
        ids = {p.pupil_id for p in pupils}
        return StatutoryResults(selection.school_id, selection.academic_year, classes, pupils,
                                [StatutorySnapshot.model_validate(values_of(r)) for r in found if r.pupil_id in ids])

    async def _check(self, store: IngestStore, selection: Selection) -> list[ClassEntry]:
        """The school's classes of the year; refused: an unknown school, or a class not of it that year."""
        if selection.school_id not in await store.school_models():
            raise SelectionRefused([FieldError(None, "school_id", "unknown school for this Trust", selection.school_id)])
        classes = await store.classes_of(selection.school_id, selection.academic_year)
        if selection.class_id is not None and selection.class_id not in {c.class_id for c in classes}:
            raise SelectionRefused([FieldError(
                None, "class_id", f"not a class of school {selection.school_id} in {selection.academic_year}",
                selection.class_id)])
        return [class_entry(c) for c in classes]

    async def _pupils(self, store: IngestStore, selection: Selection, with_results: Sequence[str]) -> list[PupilEntry]:
        today = self.today()
        pupils = {p.pupil_id: p for p in await store.pupils_of(selection.school_id)}
        missing = sorted(set(with_results) - set(pupils))
        pupils.update(await store.pupils_by_id(missing))
        entries = (pupil_entry(p, selection.academic_year, today) for p in pupils.values())
        return sorted((e for e in entries if (e.year_group is not None or e.pupil_id in with_results)
                       and selected(e, selection)), key=lambda e: e.pupil_id)


def class_entry(state: ClassState) -> ClassEntry:
    return ClassEntry(state.class_id, state.name, [YearGroup(y) for y in state.year_groups])
