"""What the entry screens show, as pure functions: one school's sheet of results for a year group
(summative: a period's subjects; statutory: an assessment's components), read back from the store
with each value's lock state and a count of what is missing, and the information key of every
statutory code. The answer shapes are the entry routes' response models.

Which pupils a sheet lists: those of the school whose year group in the sheet's academic year is the
sheet's (the record's year group is this year's, one less per year back: `attendance.year_group_on`),
leavers included while they were on roll that year, and anyone else with a result in the sheet."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from tidemark_ingest.domain.facts import ClassState, PupilState, ResultState, SchoolState, StatutoryState
from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.calendar import parse_academic_year
from tidemark_schemas.rules import year_group_on
from tidemark_schemas.statutory import (
    ASSESSMENT_YEAR_GROUP,
    COMPONENTS,
    Assessment,
    ComponentSpec,
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


class SummativeSheet(BaseModel):
    """A school's summative results of one period for one year group (GET /v1/entry/summative)."""

    school_id: str
    school_name: str
    academic_year: str
    period: str
    year_group: YearGroup
    assessment_model: AssessmentModel | None = Field(
        description="The school's own model (its codes, labels and bands, lowest first); null: bands BELOW, AT, ABOVE")
    bands: list[Band] = Field(description="The bands, lowest first (what a school without a model enters)")
    subjects: list[str] = Field(description="The subjects of the year group (Reception: the goals E01..E17)")
    classes: list[SheetClass] = Field(description="The school's classes of the academic year, by name")
    pupils: list[SheetPupil]
    results: list[SummativeCell]
    missing: int = Field(description="Pupils x subjects without an entry (leavers' left out)")
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


class StatutorySheet(BaseModel):
    """A school's results of one statutory assessment in one academic year (GET /v1/entry/statutory)."""

    school_id: str
    school_name: str
    academic_year: str
    assessment: Assessment
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
    return year_group_on(pupil.year_group, date(parse_academic_year(academic_year), 9, 1), pupil.left_on or today)


def _on_roll_in(pupil: PupilState, academic_year: str) -> bool:
    """Whether a leaver had not left before the academic year began."""
    return pupil.left_on is None or pupil.left_on >= date(parse_academic_year(academic_year), 9, 1)


def sheet_pupils(
    pupils: Iterable[PupilState], academic_year: str, year_groups: frozenset[YearGroup], with_results: Iterable[str],
    today: date,
) -> list[SheetPupil]:
    """The pupils a sheet lists, by pupil id."""
    having = set(with_results)
    listed = []
    for pupil in pupils:
        year_group = year_group_in(pupil, academic_year, today)
        if (year_group in year_groups and _on_roll_in(pupil, academic_year)) or pupil.pupil_id in having:
            listed.append(SheetPupil(pupil_id=pupil.pupil_id, year_group=year_group or pupil.year_group,
                                     class_id=pupil.classes.get(academic_year), left_on=pupil.left_on))
    return sorted(listed, key=lambda p: p.pupil_id)


def _state(locked: object, entered: object) -> LockState:
    if locked is None:
        return "draft"
    return "locked" if locked == entered else "changed"


def summative_sheet(
    school: SchoolState, pupils: Iterable[PupilState], results: Sequence[ResultState], academic_year: str,
    period: str, year_group: YearGroup, today: date, classes: Iterable[ClassState] = (),
) -> SummativeSheet:
    """The grid of a school's period for a year group: its pupils, the year group's subjects and every
    result entered, with what is missing."""
    mine = [r for r in results if r.year_group == year_group]  # rows come back as stored (plain strings)
    listed = sheet_pupils(pupils, academic_year, frozenset({year_group}), {r.pupil_id for r in mine}, today)
    subjects = list(subjects_for(year_group))
    cells = [
        SummativeCell(pupil_id=r.pupil_id, subject=r.subject, code=r.entered_code, band=r.entered_band,
                      locked_code=r.locked_code, locked_band=r.locked_band,
                      state=_state((r.locked_band, r.locked_code) if r.locked_band else None,
                                   (r.entered_band, r.entered_code)))
        for r in sorted(mine, key=lambda r: (r.pupil_id, r.subject)) if r.entered_band is not None
    ]
    entered = {(c.pupil_id, c.subject) for c in cells}
    on_roll = [p for p in listed if p.left_on is None]
    missing = sum((p.pupil_id, s) not in entered for p in on_roll for s in subjects)
    return SummativeSheet(
        school_id=school.school_id, school_name=school.name, academic_year=academic_year, period=period,
        year_group=year_group, assessment_model=school.assessment_model, bands=list(Band), subjects=subjects,
        classes=sheet_classes(classes), pupils=listed, results=cells, missing=missing, locked=sum(c.state == "locked" for c in cells),
        unlocked=sum(c.state != "locked" for c in cells),
    )


def statutory_sheet(
    school: SchoolState, pupils: Iterable[PupilState], results: Sequence[StatutoryState], academic_year: str,
    assessment: Assessment, today: date, classes: Iterable[ClassState] = (),
) -> StatutorySheet:
    """The sheet of a school's statutory assessment in a year: the pupils of the year groups that take
    its components, every component with its codes, and every result entered."""
    components = [component_info(assessment, name, spec) for name, spec in COMPONENTS[assessment].items()]
    year_groups = frozenset(c.year_group for c in components)
    mine = [r for r in results if r.assessment == assessment and r.entered is not None]
    listed = sheet_pupils(pupils, academic_year, year_groups, {r.pupil_id for r in mine}, today)
    cells = [
        StatutoryCell(pupil_id=r.pupil_id, component=r.component, entered=r.entered, locked=r.locked,
                      state=_state(r.locked, r.entered))
        for r in sorted(mine, key=lambda r: (r.pupil_id, r.component))
    ]
    entered = {(c.pupil_id, c.component) for c in cells}
    missing = sum(
        (p.pupil_id, c.component) not in entered
        for p in listed if p.left_on is None
        for c in components if not c.optional and c.year_group == p.year_group
    )
    return StatutorySheet(
        school_id=school.school_id, school_name=school.name, academic_year=academic_year, assessment=assessment,
        components=components, classes=sheet_classes(classes), pupils=listed, results=cells, missing=missing,
        locked=sum(c.state == "locked" for c in cells), unlocked=sum(c.state != "locked" for c in cells),
    )
