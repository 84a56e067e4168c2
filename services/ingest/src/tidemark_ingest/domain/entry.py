"""What the entry screens show, as pure functions: one school's sheet of entered results for a
selection (summative: a period, narrowed to a year group, a class and/or a subject; statutory: an
assessment's components in an academic year, narrowed to a class), read back from the store with
each value's lock state, assessment date and version, and a count of what is missing; and the
information key of every statutory code. The answer shapes are the entry routes' response models.
A sheet's selection is the same scope a lock of it takes (`LockScope`, `StatutoryLockScope`), so what
the grid shows is what its Lock button locks.

Which pupils a sheet lists: those of the school on roll in the sheet's academic year whose year group
then is one of the sheet's (the record's year group is this year's, one less per year back:
`rules.year_group_on`), and anyone else with a result in the sheet; narrowed to the class (their class
in that year), if one is chosen."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from tidemark_ingest.domain.facts import ClassState, PupilState, ResultState, SchoolState, StatutoryState
from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.calendar import first_day_of
from tidemark_schemas.records import LockScope
from tidemark_schemas.rules import year_group_on
from tidemark_schemas.statutory import (
    ASSESSMENT_YEAR_GROUP,
    COMPONENTS,
    Assessment,
    ComponentSpec,
    StatutoryLockScope,
    StatutoryValue,
    taken_in,
)
from tidemark_schemas.vocabulary import Band, YearGroup, subjects_for

LockState = Literal["draft", "locked", "changed"]
"""draft: entered, not counted; locked: the entered value counts; changed: locked, then entered
again with another value (lock again to correct the counted value)."""


class SheetPupil(BaseModel):
    pupil_id: str
    year_group: YearGroup = Field(description="The pupil's year group in the sheet's academic year")
    class_id: str | None = Field(description="The pupil's class in the sheet's academic year (null: none)")
    left_on: date | None = Field(description="A leaver's leaving date")


class SheetClass(BaseModel):
    """A class of the school in the sheet's academic year (the grid's Class choices)."""

    class_id: str
    name: str
    year_groups: list[YearGroup]


def sheet_classes(classes: Iterable[ClassState]) -> list[SheetClass]:
    return [SheetClass(class_id=c.class_id, name=c.name, year_groups=list(c.year_groups)) for c in classes]


class SummativeCell(BaseModel):
    pupil_id: str
    subject: str
    code: str | None = Field(description="The entered code of the school's model (null without a model)")
    band: Band = Field(description="The entered band")
    locked_code: str | None
    locked_band: Band | None = Field(description="The value that counts; null when not locked")
    state: LockState
    assessed_on: date | None = Field(description="The assessment date of the entered value")
    version: int = Field(description="The fact's version: one more at each change of it")


class SummativeSheet(BaseModel):
    """A school's summative results of one period, for a year group, a class and/or a subject (GET
    /v1/entry/summative)."""

    school_id: str
    school_name: str
    academic_year: str
    period: str
    year_group: YearGroup | None = Field(description="The year group chosen (null: every year group)")
    class_id: str | None = Field(description="The class chosen (null: every class)")
    subject: str | None = Field(description="The subject chosen (null: every subject)")
    assessment_model: AssessmentModel | None = Field(
        description="The school's own model (its codes, labels and bands, lowest first); null: bands BELOW, AT, ABOVE")
    bands: list[Band] = Field(description="The bands, lowest first (what a school without a model enters)")
    subjects: list[str] = Field(description="The sheet's subjects (Reception's: the goals E01..E17), its columns")
    subjects_by_year_group: dict[YearGroup, list[str]] = Field(
        description="The subjects each year group of the sheet takes (a mixed Reception and Year 1 class: the goals "
        "for one, the subjects for the other)")
    classes: list[SheetClass] = Field(description="The school's classes of the academic year, by name")
    pupils: list[SheetPupil]
    results: list[SummativeCell]
    missing: int = Field(description="Pupils x their subjects without an entry (leavers' left out)")
    locked: int = Field(description="Results whose entered value counts")
    unlocked: int = Field(description="Results entered but not counted (drafts, and values changed since their lock)")


class CodeMeaning(BaseModel):
    code: str
    meaning: str


class ComponentInfo(BaseModel):
    component: str
    label: str
    year_group: YearGroup = Field(description="The year group that takes it")
    optional: bool = Field(description="Entered for some pupils only: never counted as missing")
    codes: list[CodeMeaning] = Field(description="Every code it accepts and what it means")
    marks: tuple[int, int] | None = Field(description="The raw mark's range, if it takes one")
    scaled: tuple[int, int] | None = Field(description="The scaled score's range, if it takes one")
    number: Literal["mark", "scaled_score"] | None = Field(
        description="What a plain number entered for it is (the scaled score where it has one, else the mark)")


class AssessmentInfo(BaseModel):
    assessment: Assessment
    year_group: YearGroup
    components: list[ComponentInfo]


class StatutoryCell(BaseModel):
    pupil_id: str
    component: str
    entered: StatutoryValue
    locked: StatutoryValue | None = Field(description="The value that counts; null when not locked")
    state: LockState
    assessed_on: date | None = Field(description="The assessment date of the entered value")
    version: int = Field(description="The fact's version: one more at each change of it")


class StatutorySheet(BaseModel):
    """A school's results of one statutory assessment in one academic year (GET /v1/entry/statutory)."""

    school_id: str
    school_name: str
    academic_year: str
    assessment: Assessment
    class_id: str | None = Field(description="The class chosen (null: every class)")
    components: list[ComponentInfo]
    classes: list[SheetClass] = Field(description="The school's classes of the academic year, by name")
    pupils: list[SheetPupil]
    results: list[StatutoryCell]
    missing: int = Field(description="Pupils x required components of their year group without an entry")
    locked: int
    unlocked: int


def component_info(assessment: Assessment, component: str, spec: ComponentSpec) -> ComponentInfo:
    return ComponentInfo(
        component=component, label=spec.label, year_group=taken_in(assessment, component), optional=spec.optional,
        codes=[CodeMeaning(code=code, meaning=meaning) for code, meaning in spec.meanings.items()],
        marks=spec.marks, scaled=spec.scaled, number=spec.number_field,
    )


def code_tables() -> list[AssessmentInfo]:
    """Every statutory assessment's components, codes and their meanings: the information key, from
    the one code table (`tidemark_schemas.statutory.COMPONENTS`)."""
    return [
        AssessmentInfo(assessment=assessment, year_group=ASSESSMENT_YEAR_GROUP[assessment],
                       components=[component_info(assessment, name, spec) for name, spec in specs.items()])
        for assessment, specs in COMPONENTS.items()
    ]


def year_group_in(pupil: PupilState, academic_year: str, today: date) -> YearGroup | None:
    """The pupil's year group in `academic_year` (None: not in Reception to Year 6 then)."""
    return year_group_on(pupil.year_group, first_day_of(academic_year), pupil.left_on or today)


def _on_roll_in(pupil: PupilState, academic_year: str) -> bool:
    """Whether a leaver had not left before the academic year began."""
    return pupil.left_on is None or pupil.left_on >= first_day_of(academic_year)


def sheet_pupils(
    pupils: Iterable[PupilState], academic_year: str, year_groups: Collection[YearGroup], class_id: str | None,
    with_results: Iterable[str], today: date,
) -> list[SheetPupil]:
    """The pupils a sheet lists, by pupil id."""
    having = set(with_results)
    listed = []
    for pupil in pupils:
        year_group = year_group_in(pupil, academic_year, today)
        in_class = class_id is None or pupil.classes.get(academic_year) == class_id
        if in_class and ((year_group in year_groups and _on_roll_in(pupil, academic_year)) or pupil.pupil_id in having):
            listed.append(SheetPupil(pupil_id=pupil.pupil_id, year_group=year_group or YearGroup(pupil.year_group),
                                     class_id=pupil.classes.get(academic_year), left_on=pupil.left_on))
    return sorted(listed, key=lambda p: p.pupil_id)


def _state(locked: object, entered: object) -> LockState:
    if locked is None:
        return "draft"
    return "locked" if locked == entered else "changed"


def summative_year_groups(year_group: YearGroup | None, chosen_class: ClassState | None) -> list[YearGroup]:
    """A summative sheet's year groups: the one chosen, else the class's, else all of them."""
    if year_group is not None:
        return [year_group]
    return [YearGroup(y) for y in chosen_class.year_groups] if chosen_class is not None else list(YearGroup)


def summative_sheet(
    school: SchoolState, pupils: Iterable[PupilState], results: Sequence[ResultState], scope: LockScope,
    today: date, classes: Sequence[ClassState] = (),
) -> SummativeSheet:
    """The grid of a school's period for the scope: its pupils, their subjects and every result
    entered, with what is missing."""
    chosen_class = next((c for c in classes if c.class_id == scope.class_id), None)
    year_groups = summative_year_groups(scope.year_group, chosen_class)
    by_year_group = {y: [s for s in subjects_for(y) if scope.subject in (None, s)] for y in year_groups}
    subjects = list(dict.fromkeys(s for y in year_groups for s in by_year_group[y]))
    # The results a lock of the scope takes: of its year group if it names one (else any: a class's
    # pupil's result recorded under another year group is still theirs), in the sheet's subjects.
    candidates = [r for r in results if scope.year_group in (None, r.year_group) and r.subject in subjects]
    listed = sheet_pupils(pupils, scope.academic_year, year_groups, scope.class_id,
                          {r.pupil_id for r in candidates}, today)
    ids = {p.pupil_id for p in listed}
    cells = [
        SummativeCell(pupil_id=r.pupil_id, subject=r.subject, code=r.entered_code, band=r.entered_band,
                      locked_code=r.locked_code, locked_band=r.locked_band,
                      state=_state((r.locked_band, r.locked_code) if r.locked_band else None,
                                   (r.entered_band, r.entered_code)),
                      assessed_on=r.assessed_on, version=r.version)
        for r in sorted(candidates, key=lambda r: (r.pupil_id, r.subject))
        if r.pupil_id in ids and r.entered_band is not None
    ]
    entered = {(c.pupil_id, c.subject) for c in cells}
    missing = sum((p.pupil_id, s) not in entered
                  for p in listed if p.left_on is None for s in by_year_group.get(p.year_group, ()))
    return SummativeSheet(
        school_id=school.school_id, school_name=school.name, academic_year=scope.academic_year, period=scope.period,
        year_group=scope.year_group, class_id=scope.class_id, subject=scope.subject,
        assessment_model=school.assessment_model, bands=list(Band), subjects=subjects,
        subjects_by_year_group=by_year_group, classes=sheet_classes(classes), pupils=listed, results=cells,
        missing=missing, locked=sum(c.state == "locked" for c in cells), unlocked=sum(c.state != "locked" for c in cells),
    )


def statutory_sheet(
    school: SchoolState, pupils: Iterable[PupilState], results: Sequence[StatutoryState], scope: StatutoryLockScope,
    assessment: Assessment, today: date, classes: Iterable[ClassState] = (),
) -> StatutorySheet:
    """The sheet of a school's statutory assessment in a year: the pupils of the year groups that take
    its components (of the class, if chosen), every component with its codes, and every result entered."""
    components = [component_info(assessment, name, spec) for name, spec in COMPONENTS[assessment].items()]
    year_groups = frozenset(c.year_group for c in components)
    candidates = [r for r in results if r.assessment == assessment and r.entered is not None]
    listed = sheet_pupils(pupils, scope.academic_year, year_groups, scope.class_id,
                          {r.pupil_id for r in candidates}, today)
    ids = {p.pupil_id for p in listed}
    cells = [
        StatutoryCell(pupil_id=r.pupil_id, component=r.component, entered=r.entered, locked=r.locked,
                      state=_state(r.locked, r.entered), assessed_on=r.assessed_on, version=r.version)
        for r in sorted(candidates, key=lambda r: (r.pupil_id, r.component)) if r.pupil_id in ids
    ]
    entered = {(c.pupil_id, c.component) for c in cells}
    missing = sum(
        (p.pupil_id, c.component) not in entered
        for p in listed if p.left_on is None
        for c in components if not c.optional and c.year_group == p.year_group
    )
    return StatutorySheet(
        school_id=school.school_id, school_name=school.name, academic_year=scope.academic_year, assessment=assessment,
        class_id=scope.class_id, components=components, classes=sheet_classes(classes), pupils=listed, results=cells,
        missing=missing, locked=sum(c.state == "locked" for c in cells), unlocked=sum(c.state != "locked" for c in cells),
    )
