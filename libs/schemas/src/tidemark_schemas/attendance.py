"""Attendance rules: the register codes, what each counts as, the figures and the cohort. One source
for ingest (which codes it accepts), the attendance projection (what it counts) and the gateway
(how it turns counters into figures); `dfe-rules.md` section 7 is the reference, and
`docs/domain-decisions.md` records how we read it where it leaves room.

- Every code in force since 19 August 2024 (School Attendance (Pupil Registration) (England)
  Regulations 2024) with its statistical category; the codes retired then (H, J, Y) and earlier
  (F) keep their old category, so back-filled earlier years count as the DfE counted them.
- A *possible session* is one whose category is present, attending an approved activity,
  authorised or unauthorised absence. Dual registration (D), non-compulsory school age (X), the
  unavoidable causes (Q, Y1-Y7, old Y), the administrative codes (Z, #) and no mark (-) are not.
- Attendance % = 100 - absence %, absence % = (authorised + unauthorised) / possible, all
  session-weighted (sums of sessions over pupils, never means of pupils' percentages).
- A persistent absentee missed 10% or more of their own possible sessions in the window, a severe
  absentee 50% or more, decided on integers so the boundaries are exact (38 of 380 is 10.0%).
- The headline cohort is Years 1-6 (compulsory school age); Reception is reported on its own and
  included only when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from tidemark_schemas.rules import percentage
from tidemark_schemas.vocabulary import PRIMARY_YEAR_GROUPS, YearGroup


class Session(StrEnum):
    """The two register sessions of a school day."""

    AM = "AM"
    PM = "PM"


class Category(StrEnum):
    """The statistical category of a register code."""

    PRESENT = "present"
    APPROVED_ACTIVITY = "approved_activity"
    """Attending an approved educational activity off site: counts as attendance."""
    AUTHORISED = "authorised"
    UNAUTHORISED = "unauthorised"
    NOT_COUNTED = "not_counted"
    """Dual registration elsewhere (D), or a pupil below compulsory school age not required to attend (X)."""
    UNAVOIDABLE = "unavoidable"
    """Unable to attend for an unavoidable cause (Q, Y1-Y7, old Y)."""
    ADMINISTRATIVE = "administrative"
    """Not yet on the admission register (Z), a planned school closure (#)."""
    NO_MARK = "no_mark"
    """No mark recorded (-): a data error, counted by code so that missing marks show."""


POSSIBLE_CATEGORIES: frozenset[Category] = frozenset(
    {Category.PRESENT, Category.APPROVED_ACTIVITY, Category.AUTHORISED, Category.UNAUTHORISED}
)
ABSENCE_CATEGORIES: frozenset[Category] = frozenset({Category.AUTHORISED, Category.UNAUTHORISED})

CODES_OF_2024 = date(2024, 8, 19)
"""The School Attendance (Pupil Registration) (England) Regulations 2024 came into force."""
F_RETIRED = date(2013, 9, 1)
"""`F` (agreed extended family holiday) left the register codes with the 2013 amendment."""


@dataclass(frozen=True, slots=True)
class RegisterCode:
    code: str
    meaning: str
    category: Category
    in_force_from: date | None = None
    """The first day the code may be used (None: before any year Tidemark holds)."""
    retired_on: date | None = None
    """The first day the code may no longer be used (None: still in force)."""

    @property
    def possible(self) -> bool:
        """Whether a session with this code is a possible session."""
        return self.category in POSSIBLE_CATEGORIES

    @property
    def absence(self) -> bool:
        return self.category in ABSENCE_CATEGORIES

    def in_force_on(self, day: date) -> bool:
        return (self.in_force_from is None or day >= self.in_force_from) and (
            self.retired_on is None or day < self.retired_on
        )


def _codes(*codes: RegisterCode) -> dict[str, RegisterCode]:
    return {code.code: code for code in codes}


_C = Category
_NEW = {"in_force_from": CODES_OF_2024}
_RETIRED = {"retired_on": CODES_OF_2024}

REGISTER_CODES: dict[str, RegisterCode] = _codes(
    RegisterCode("/", "present (morning)", _C.PRESENT),
    RegisterCode("\\", "present (afternoon)", _C.PRESENT),
    RegisterCode("L", "late, arrived before the register closed", _C.PRESENT),
    RegisterCode("K", "attending education provision arranged by the local authority", _C.APPROVED_ACTIVITY, **_NEW),
    RegisterCode("V", "attending an educational visit or trip", _C.APPROVED_ACTIVITY),
    RegisterCode("P", "participating in an approved sporting activity", _C.APPROVED_ACTIVITY),
    RegisterCode("W", "attending work experience", _C.APPROVED_ACTIVITY),
    RegisterCode("B", "attending any other approved, supervised off-site educational activity", _C.APPROVED_ACTIVITY),
    RegisterCode("D", "attending another school at which the pupil is also registered", _C.NOT_COUNTED),
    RegisterCode("C1", "leave: a regulated performance or employment abroad", _C.AUTHORISED, **_NEW),
    RegisterCode("M", "leave: a medical or dental appointment", _C.AUTHORISED),
    RegisterCode("J1", "leave: an interview", _C.AUTHORISED, **_NEW),
    RegisterCode("S", "leave: study leave", _C.AUTHORISED),
    RegisterCode("X", "not of compulsory school age and not required to attend", _C.NOT_COUNTED),
    RegisterCode("C2", "leave: a temporary reduced (part-time) timetable", _C.AUTHORISED, **_NEW),
    RegisterCode("C", "leave: exceptional circumstances", _C.AUTHORISED),
    RegisterCode("T", "parent travelling for occupational purposes", _C.AUTHORISED),
    RegisterCode("R", "religious observance", _C.AUTHORISED),
    RegisterCode("I", "illness (not medical or dental appointments)", _C.AUTHORISED),
    RegisterCode("E", "suspended or permanently excluded, no alternative provision", _C.AUTHORISED),
    RegisterCode("Q", "unable to attend: lack of access arrangements", _C.UNAVOIDABLE, **_NEW),
    RegisterCode("Y1", "unable to attend: transport normally provided not available", _C.UNAVOIDABLE, **_NEW),
    RegisterCode("Y2", "unable to attend: widespread disruption to travel", _C.UNAVOIDABLE, **_NEW),
    RegisterCode("Y3", "unable to attend: part of the school premises closed", _C.UNAVOIDABLE, **_NEW),
    RegisterCode("Y4", "unable to attend: whole school site unexpectedly closed", _C.UNAVOIDABLE, **_NEW),
    RegisterCode("Y5", "unable to attend: held in criminal justice detention", _C.UNAVOIDABLE, **_NEW),
    RegisterCode("Y6", "unable to attend: public health guidance or law", _C.UNAVOIDABLE, **_NEW),
    RegisterCode("Y7", "unable to attend: any other unavoidable cause", _C.UNAVOIDABLE, **_NEW),
    RegisterCode("G", "holiday not authorised by the school", _C.UNAUTHORISED),
    RegisterCode("N", "reason for absence not yet provided", _C.UNAUTHORISED),
    RegisterCode("O", "absent in other or unknown circumstances", _C.UNAUTHORISED),
    RegisterCode("U", "arrived in school after the register closed", _C.UNAUTHORISED),
    RegisterCode("Z", "prospective pupil not yet on the admission register", _C.ADMINISTRATIVE),
    RegisterCode("#", "planned whole or partial school closure", _C.ADMINISTRATIVE),
    RegisterCode("-", "no mark recorded", _C.NO_MARK),
    # Codes of earlier years, with the category the DfE counted them in then.
    RegisterCode("H", "holiday agreed by the school (retired 2024)", _C.AUTHORISED, **_RETIRED),
    RegisterCode("J", "interview (retired 2024; an approved educational activity then)", _C.APPROVED_ACTIVITY,
                 **_RETIRED),
    RegisterCode("Y", "unable to attend due to exceptional circumstances (retired 2024)", _C.UNAVOIDABLE, **_RETIRED),
    RegisterCode("F", "agreed extended family holiday (retired 2013)", _C.AUTHORISED, retired_on=F_RETIRED),
)
"""Every register code Tidemark knows, by code."""

NO_MARK = "-"

PRESENT = "/\\"
"""The label the sessions counters give `/` (morning) and `\\` (afternoon) together: both mean
present, and counting them apart would double the counters a day of registers moves."""

if TYPE_CHECKING:
    RegisterCodeValue = str
else:
    RegisterCodeValue = Literal[tuple(REGISTER_CODES)]
"""A register code as a field type: a Literal of the table's codes, so the validator checks it from
its own list (fast) and every contract's JSON Schema lists them (a type checker sees a str: it cannot
read a Literal built from the table)."""

CATEGORY_OF: dict[str, Category] = {code: entry.category for code, entry in REGISTER_CODES.items()} | {
    PRESENT: Category.PRESENT
}
"""A code's (or counter label's) category."""


def counted_as(code: str) -> str:
    """The sessions counter label of a register code: itself, except `/` and `\\` (`PRESENT`)."""
    return PRESENT if code == "/" or code == "\\" else code

_SESSION_WEIGHTS: dict[str, tuple[int, int, int]] = {
    code: (int(category in POSSIBLE_CATEGORIES), int(category is Category.AUTHORISED),
           int(category is Category.UNAUTHORISED))
    for code, category in CATEGORY_OF.items()
}
"""What one session of a code adds to (possible, authorised, unauthorised): the projection's
hottest lookup, so precomputed from the table."""


def register_code(code: str, on: date) -> RegisterCode:
    """The code a mark on `on` may carry; raises ValueError saying why not (unknown, not yet in
    force, or retired by then)."""
    entry = REGISTER_CODES.get(code)
    if entry is None:
        raise ValueError(f"unknown register code {code!r}")
    if entry.in_force_from is not None and on < entry.in_force_from:
        raise ValueError(f"register code {code!r} is in force from {entry.in_force_from.isoformat()}, after {on}")
    if entry.retired_on is not None and on >= entry.retired_on:
        raise ValueError(f"register code {code!r} was retired on {entry.retired_on.isoformat()}, before {on}")
    return entry


# -- sessions in a window -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sessions:
    """One enrolment's (or a group's) sessions in a window, by category."""

    possible: int
    authorised: int
    unauthorised: int

    @property
    def absent(self) -> int:
        return self.authorised + self.unauthorised

    @property
    def attended(self) -> int:
        """Present or attending an approved activity."""
        return self.possible - self.absent


def sessions_of(codes: Mapping[str, int]) -> Sessions:
    """Sessions by category from sessions by code (or counter label)."""
    possible = authorised = unauthorised = 0
    for code, sessions in codes.items():
        is_possible, is_authorised, is_unauthorised = _SESSION_WEIGHTS[code]
        possible += is_possible * sessions
        authorised += is_authorised * sessions
        unauthorised += is_unauthorised * sessions
    return Sessions(possible, authorised, unauthorised)


def persistent(absent: int, possible: int) -> bool:
    """Missed 10% or more of one's own possible sessions (exactly 90.0% attendance counts), on
    integers so the boundary is exact: 38 of 380 is persistent, 37 is not."""
    return possible > 0 and absent * 10 >= possible


def severe(absent: int, possible: int) -> bool:
    """Missed 50% or more of one's own possible sessions (190 of 380 is severe)."""
    return possible > 0 and absent * 2 >= possible


def persistent_absentee(sessions: Sessions) -> bool:
    return persistent(sessions.absent, sessions.possible)


def severe_absentee(sessions: Sessions) -> bool:
    return severe(sessions.absent, sessions.possible)


# -- the read model: what an enrolment adds to its window's counters ------------------------------

PUPILS = "pupils"
PERSISTENT = "persistent"
SEVERE = "severe"
ENROLMENT_LABELS: tuple[str, ...] = (PUPILS, PERSISTENT, SEVERE)
"""The labels of an attendance pupils hash (`Keyspace.attendance_pupils`): enrolments with a
possible session, of them persistent and severe absentees. Sessions are counted by register code
(`Keyspace.attendance_sessions`, labelled by `counted_as(code)`); every category follows from the
codes (`sessions_of`), so a mark moves one counter per window, not three."""

YEAR_TO_DATE = "YTD"
"""The window of a whole academic year (so far), beside the periods and the weeks (Monday's date)."""
ATTENDANCE_MEASURE = "attendance"
"""The measure named in change notices of the attendance counters."""


def enrolment_counts(codes: Mapping[str, int], prefix: str = "") -> dict[str, int]:
    """What one enrolment adds in one window, by label (each after `prefix`, the counter field's
    cell): every code's sessions and, with a possible session, one pupil, and one persistent or
    severe absentee when it is one. An enrolment without a possible session is excluded from the
    pupils (its codes still show). The projection's hottest function, hence one loop."""
    counts: dict[str, int] = {}
    possible = absent = 0
    for code, sessions in codes.items():
        if sessions:
            counts[prefix + code] = sessions
            is_possible, is_authorised, is_unauthorised = _SESSION_WEIGHTS[code]
            possible += is_possible * sessions
            absent += (is_authorised + is_unauthorised) * sessions
    if possible:
        counts[prefix + PUPILS] = 1
        if persistent(absent, possible):
            counts[prefix + PERSISTENT] = 1
        if severe(absent, possible):
            counts[prefix + SEVERE] = 1
    return counts


@dataclass(frozen=True, slots=True)
class AttendanceFigures:
    """A group's figures from its summed counters (session-weighted; unrounded; None without a
    possible session or a pupil)."""

    sessions: Sessions
    pupils: int
    persistent_absentees: int
    severe_absentees: int

    @classmethod
    def of(cls, sessions_by_code: Mapping[str, int], enrolments: Mapping[str, int]) -> AttendanceFigures:
        """From a group's sessions by code and its enrolment counters (pupils, persistent, severe)."""
        return cls(sessions_of(sessions_by_code), *(int(enrolments.get(label, 0)) for label in ENROLMENT_LABELS))

    @property
    def possible_sessions(self) -> int:
        return self.sessions.possible

    @property
    def absence_pct(self) -> float | None:
        return percentage(self.sessions.absent, self.sessions.possible)

    @property
    def attendance_pct(self) -> float | None:
        absence = self.absence_pct
        return None if absence is None else 100.0 - absence

    @property
    def authorised_absence_pct(self) -> float | None:
        return percentage(self.sessions.authorised, self.sessions.possible)

    @property
    def unauthorised_absence_pct(self) -> float | None:
        return percentage(self.sessions.unauthorised, self.sessions.possible)

    @property
    def persistent_absence_pct(self) -> float | None:
        return percentage(self.persistent_absentees, self.pupils)

    @property
    def severe_absence_pct(self) -> float | None:
        return percentage(self.severe_absentees, self.pupils)

    def reason_pct(self, sessions_with_code: int) -> float | None:
        """A code's sessions as a % of possible sessions: the rate of absence by reason."""
        return percentage(sessions_with_code, self.sessions.possible)


# -- the headline cohort ---------------------------------------------------------------------------

HEADLINE_YEAR_GROUPS: frozenset[YearGroup] = frozenset(PRIMARY_YEAR_GROUPS)
"""Compulsory school age in a primary school: Years 1-6."""


def cohort_year_groups(include_reception: bool = False) -> frozenset[YearGroup]:
    """The year groups a headline figure covers: Years 1-6, with Reception only when asked."""
    return (HEADLINE_YEAR_GROUPS | {YearGroup.R}) if include_reception else HEADLINE_YEAR_GROUPS



# -- a pupil's attendance beside their attainment in the same period -------------------------------


class AttendanceBand(StrEnum):
    """A pupil's attendance in one window, on their own sessions over every enrolment there: the
    bands are exclusive (a severe absentee is not also filed as persistent), so they sum to the
    pupils with a result."""

    SEVERE = "severe"
    """Missed 50% or more of their possible sessions."""
    PERSISTENT = "persistent"
    """Missed 10% or more, and less than 50%."""
    REGULAR = "regular"
    """Missed less than 10%."""
    UNRECORDED = "unrecorded"
    """No possible session in the window (no register marks, or only non-possible codes)."""


def attendance_band(sessions: Sessions) -> AttendanceBand:
    if not sessions.possible:
        return AttendanceBand.UNRECORDED
    if severe_absentee(sessions):
        return AttendanceBand.SEVERE
    if persistent_absentee(sessions):
        return AttendanceBand.PERSISTENT
    return AttendanceBand.REGULAR


def attainment_label(band: AttendanceBand, attainment: str) -> str:
    """The label of an attendance-attainment counter field: "severe.AT" (attendance band, then the
    result's band)."""
    return f"{band.value}.{attainment}"


def split_attainment_label(label: str) -> tuple[AttendanceBand, str]:
    band, attainment = label.split(".", 1)
    return AttendanceBand(band), attainment


def absentee_label(sessions: Sessions) -> str:
    """The label of a pupil-list field (`Keyspace.attendance_absentees`): "absent:possible"."""
    return f"{sessions.absent}:{sessions.possible}"


def split_absentee_label(label: str) -> tuple[int, int]:
    """(absent, possible) sessions of a pupil-list field's label."""
    absent, possible = label.split(":")
    return int(absent), int(possible)
