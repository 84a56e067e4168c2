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

CATEGORY_OF: dict[str, Category] = {code: entry.category for code, entry in REGISTER_CODES.items()}
"""A code's category (the projection's hottest lookup)."""


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
    """Sessions by category from sessions by code."""
    possible = authorised = unauthorised = 0
    for code, sessions in codes.items():
        category = CATEGORY_OF[code]
        if category in POSSIBLE_CATEGORIES:
            possible += sessions
            if category is Category.AUTHORISED:
                authorised += sessions
            elif category is Category.UNAUTHORISED:
                unauthorised += sessions
    return Sessions(possible, authorised, unauthorised)


def persistent_absentee(sessions: Sessions) -> bool:
    """Missed 10% or more of their own possible sessions (exactly 90.0% attendance counts)."""
    return sessions.possible > 0 and sessions.absent * 10 >= sessions.possible


def severe_absentee(sessions: Sessions) -> bool:
    """Missed 50% or more of their own possible sessions."""
    return sessions.possible > 0 and sessions.absent * 2 >= sessions.possible


# -- the read model: what an enrolment adds to its window's counters ------------------------------

POSSIBLE = "possible"
AUTHORISED = "authorised"
UNAUTHORISED = "unauthorised"
PUPILS = "pupils"
PERSISTENT = "persistent"
SEVERE = "severe"
FIGURE_LABELS: tuple[str, ...] = (POSSIBLE, AUTHORISED, UNAUTHORISED, PUPILS, PERSISTENT, SEVERE)
"""The labels of an attendance counter hash (`Keyspace.attendance`): sessions by category, and
enrolments with a possible session (`pupils`), of them persistent and severe absentees. The codes
hash (`Keyspace.attendance_codes`) is labelled by register code."""

YEAR_TO_DATE = "YTD"
"""The window of a whole academic year (so far), beside the periods and the weeks (Monday's date)."""
ATTENDANCE_MEASURE = "attendance"
"""The measure named in change notices of the attendance counters."""


def enrolment_counts(codes: Mapping[str, int]) -> dict[str, int]:
    """What one enrolment adds in one window, by label: every code's sessions, and (with a possible
    session) the sessions by category, one pupil, and whether persistent or severe. An enrolment
    without a possible session is excluded from the figures (its codes still show)."""
    counts = {code: sessions for code, sessions in codes.items() if sessions}
    sessions = sessions_of(codes)
    if sessions.possible:
        counts[POSSIBLE] = sessions.possible
        counts[PUPILS] = 1
        if sessions.authorised:
            counts[AUTHORISED] = sessions.authorised
        if sessions.unauthorised:
            counts[UNAUTHORISED] = sessions.unauthorised
        if persistent_absentee(sessions):
            counts[PERSISTENT] = 1
        if severe_absentee(sessions):
            counts[SEVERE] = 1
    return counts


@dataclass(frozen=True, slots=True)
class AttendanceFigures:
    """A group's figures from its summed counters (session-weighted; unrounded; None without a
    possible session or a pupil)."""

    possible_sessions: int
    authorised: int
    unauthorised: int
    pupils: int
    persistent_absentees: int
    severe_absentees: int

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> AttendanceFigures:
        return cls(*(int(counts.get(label, 0)) for label in FIGURE_LABELS))

    @property
    def absence_pct(self) -> float | None:
        return percentage(self.authorised + self.unauthorised, self.possible_sessions)

    @property
    def attendance_pct(self) -> float | None:
        absence = self.absence_pct
        return None if absence is None else 100.0 - absence

    @property
    def authorised_absence_pct(self) -> float | None:
        return percentage(self.authorised, self.possible_sessions)

    @property
    def unauthorised_absence_pct(self) -> float | None:
        return percentage(self.unauthorised, self.possible_sessions)

    @property
    def persistent_absence_pct(self) -> float | None:
        return percentage(self.persistent_absentees, self.pupils)

    @property
    def severe_absence_pct(self) -> float | None:
        return percentage(self.severe_absentees, self.pupils)

    def reason_pct(self, sessions_with_code: int) -> float | None:
        """Absence (or any code's sessions) as a % of possible sessions: the rate by reason."""
        return percentage(sessions_with_code, self.possible_sessions)


# -- the headline cohort ---------------------------------------------------------------------------

HEADLINE_YEAR_GROUPS: frozenset[YearGroup] = frozenset(PRIMARY_YEAR_GROUPS)
"""Compulsory school age in a primary school: Years 1-6."""


def cohort_year_groups(include_reception: bool = False) -> frozenset[YearGroup]:
    """The year groups a headline figure covers: Years 1-6, with Reception only when asked."""
    return (HEADLINE_YEAR_GROUPS | {YearGroup.R}) if include_reception else HEADLINE_YEAR_GROUPS

