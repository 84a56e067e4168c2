"""What the demo generates: a Trust as the tracker would send it (the one shape `generator` and
`statutory` make and `statutory_summary`, `loader` and `cli` read)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tidemark_schemas.calendar import academic_years_up_to
from tidemark_schemas.records import AssessmentRecord, ClassRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryRecord


@dataclass(frozen=True)
class DemoTrust:
    """Everything the tracker would send: schools, their classes, pupils, entered results and the
    locks, and the statutory results already taken with one lock per school and academic year.
    `pupils` carry the class of their latest year; `class_history` the same pupils' records with
    the class of each earlier year, one list per year (sent first, oldest year first, so each year
    keeps its class; one list per year, as a batch holds a pupil once)."""

    schools: list[SchoolRecord]
    pupils: list[PupilRecord]
    assessments: list[AssessmentRecord]
    locks: list[LockScope]
    current_year: str
    current_period: str
    statutory: list[StatutoryRecord] = field(default_factory=list)
    statutory_locks: list[StatutoryLockScope] = field(default_factory=list)
    classes: list[ClassRecord] = field(default_factory=list)
    class_history: list[list[PupilRecord]] = field(default_factory=list)

    @property
    def academic_years(self) -> tuple[str, ...]:
        """The three academic years covered, oldest first."""
        return tuple(academic_years_up_to(self.current_year))

    @property
    def current_roll(self) -> list[PupilRecord]:
        return [p for p in self.pupils if p.left_on is None]
