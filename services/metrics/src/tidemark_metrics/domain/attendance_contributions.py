"""What a pupil adds to the attendance counters of one window (pure): per *enrolment* (the school
and year group a mark carries), the sessions of every code and, with a possible session, one
pupil, and whether the enrolment is a persistent or severe absentee on its own sessions in that
window (`tidemark_schemas.attendance.enrolment_counts`).

A pupil's attendance hash holds three kinds of parts, so that every window's figures are counters
read directly (never summed over weeks at read time), and a mark reads and writes three small
fields whatever the size of the year:

    w:<year>|<monday>    the marks of one school week as taken: per enrolment, each session's
                         slot, code and version; counted in the week's window
    p:<year>|<period>    sessions per enrolment and counter label in one period; counted in the
                         period's window
    y:<year>             sessions per enrolment and counter label in the academic year; counted
                         in `YTD`

A mark changes its week and, when its counter label or enrolment changes, moves one session
between labels in its period and its year (`moved`): the totals never need the whole year's marks.

A contribution is "school|cell|label" (the cell of the pupil's current characteristics in the
enrolment's year group and their class in the window's academic year, `aggregates.encode_cell`), with a weight: the sessions, or 1 for `pupils`,
`persistent` and `severe`. Two more kinds, marked by their first character:

    !school|pupil_id|cell|absent:possible   a persistent absentee enrolment, by pupil (the pupil
                                            lists: `Keyspace.attendance_absentees`)
    @measure|school|cell|attendance.band    a period's result of one measure filed under the
                                            pupil's attendance band in that period
                                            (`Keyspace.attendance_attainment`)

A period part also keeps the pupil's summative results of that period (`RESULTS`, as the
attainment projection stores them), so that its attainment by attendance band is counted from the
one part that holds both: exact under any order of marks and results.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from tidemark_metrics.domain.contributions import StoredResult, parse_contribution, slot_contributions
from tidemark_schemas.aggregates import ENTERED_PREFIX, MODEL_PREFIX, PUPILS_MEASURE, Slot
from tidemark_schemas.attendance import (
    PERSISTENT,
    YEAR_TO_DATE,
    absentee_label,
    attainment_label,
    attendance_band,
    counted_as,
    enrolment_counts,
    sessions_of,
)
from tidemark_schemas.characteristics import Characteristics

WEEK_PREFIX = "w:"
PERIOD_PREFIX = "p:"
YEAR_PREFIX = "y:"

Enrolment = str
""""school_id|year_group": a pupil at two schools, or in two year groups, in a window is two enrolments."""
Mark = tuple[str, int, Enrolment]
"""(code, version, enrolment) of one session."""
WeekMarks = dict[Enrolment, list[Any]]
"""A week's marks as stored, per enrolment a flat [slot, code, version, ...] (slot: weekday x 2, + 1
for the afternoon): the JSON shape itself, so reading and writing a week costs no conversion."""
Totals = dict[Enrolment, dict[str, int]]
"""Sessions per enrolment and counter label (the code, `/` and `\\` together: `counted_as`)."""
RESULTS = "results"
"""The key of a period part's results (subject -> `StoredResult`); never an enrolment (no `|`)."""
ABSENTEE_ITEM = "!"
ATTAINMENT_ITEM = "@"


def enrolment(school_id: str, year_group: str) -> Enrolment:
    return f"{school_id}|{year_group}"


def week_part(academic_year: str, monday: str) -> str:
    return f"{WEEK_PREFIX}{academic_year}|{monday}"


def period_part(academic_year: str, period: str) -> str:
    return f"{PERIOD_PREFIX}{academic_year}|{period}"


def year_part(academic_year: str) -> str:
    return f"{YEAR_PREFIX}{academic_year}"


def window_of(part: str) -> tuple[str, str]:
    """(academic year, window) a part is counted in: a week (its Monday), a period, or `YTD`."""
    if part.startswith(YEAR_PREFIX):
        return part[len(YEAR_PREFIX):], YEAR_TO_DATE
    academic_year, window = part[len(WEEK_PREFIX):].split("|")
    return academic_year, window


def find_mark(week: WeekMarks, slot: int) -> Mark | None:
    """The mark a week holds for a session, if any."""
    for where, flat in week.items():
        for position in range(0, len(flat), 3):
            if flat[position] == slot:
                return flat[position + 1], flat[position + 2], where
    return None


def with_mark(week: WeekMarks, slot: int, mark: Mark, replaced: Enrolment | None) -> WeekMarks:
    """The week with `mark` in `slot`, replacing the one filed under `replaced` (a new mapping; the
    given one untouched)."""
    result = dict(week)
    if replaced is not None:
        flat = result[replaced]
        position = next(p for p in range(0, len(flat), 3) if flat[p] == slot)
        remaining = flat[:position] + flat[position + 3:]
        if remaining:
            result[replaced] = remaining
        else:
            del result[replaced]
    code, version, where = mark
    result[where] = [*result.get(where, ()), slot, code, version]
    return result


def week_totals(week: WeekMarks) -> Totals:
    """Sessions per enrolment and counter label (`counted_as`) of a week's marks."""
    totals: Totals = {}
    for where, flat in week.items():
        codes: dict[str, int] = {}
        for position in range(1, len(flat), 3):
            label = counted_as(flat[position])
            codes[label] = codes.get(label, 0) + 1
        totals[where] = codes
    return totals


def moved(totals: Totals, old: tuple[str, Enrolment] | None, new: tuple[str, Enrolment]) -> Totals:
    """The totals after one session moves from (code, enrolment) `old` (None: a new session) to
    `new`; a new mapping, the given one untouched. A count that reaches 0 goes."""
    result = dict(totals)
    if old is not None:
        code, where = old
        codes = dict(result.get(where, {}))
        left = codes.get(code, 0) - 1
        if left > 0:
            codes[code] = left
        else:
            codes.pop(code, None)
        if codes:
            result[where] = codes
        else:
            result.pop(where, None)
    code, where = new
    codes = dict(result.get(where, {}))
    codes[code] = codes.get(code, 0) + 1
    result[where] = codes
    return result


def window_contributions(
    c: Characteristics | None, academic_year: str, totals: Mapping[str, Any], prefixes: dict[tuple[str, Enrolment], str],
    pupil_id: str = "",
) -> dict[str, int]:
    """What the pupil adds to one window's counters (nothing until the pupil record arrives): each
    enrolment's sessions and pupils, and each persistent absentee enrolment by pupil.
    `prefixes`: each (academic year, enrolment)'s "school|cell", kept by the caller for one set of
    characteristics (the cell holds the pupil's class in the window's academic year).
    A period part's results are not an enrolment (`attainment_contributions` counts them)."""
    if c is None:
        return {}
    found: dict[str, int] = {}
    for where, codes in totals.items():
        if where == RESULTS:
            continue
        prefix = prefixes.get((academic_year, where))
        if prefix is None:
            prefix = prefixes[(academic_year, where)] = _prefix(c, where, academic_year)
        counts = enrolment_counts(codes, prefix)
        found.update(counts)
        if prefix + PERSISTENT in counts:
            school_id, cell = prefix.split("|", 1)
            found[f"{ABSENTEE_ITEM}{school_id}|{pupil_id}|{cell}{absentee_label(sessions_of(codes))}"] = 1
    return found


def _reported(measure: str) -> bool:
    """A measure the attainment reports show (not an entered value, a model code or presence)."""
    return measure != PUPILS_MEASURE and not measure.startswith((ENTERED_PREFIX, MODEL_PREFIX))


def attainment_contributions(c: Characteristics | None, slot: Slot, totals: Mapping[str, Any]) -> dict[str, int]:
    """Each locked result of the period (and each combined measure) that the attainment projection
    counts, under the same school and cell, labelled with the pupil's attendance band in the period
    (their own sessions over every enrolment in it, `attendance_band`) and the result's band."""
    results: Mapping[str, StoredResult] = totals.get(RESULTS) or {}
    if c is None or not results:
        return {}
    pooled: dict[str, int] = {}
    for where, codes in totals.items():
        if where != RESULTS:
            for code, sessions in codes.items():
                pooled[code] = pooled.get(code, 0) + sessions
    band = attendance_band(sessions_of(pooled))
    found: dict[str, int] = {}
    for item in slot_contributions(c, slot, results):
        measure, school_id, field = parse_contribution(item)
        if _reported(measure):
            cell, attainment = field.rsplit("|", 1)
            found[f"{ATTAINMENT_ITEM}{measure}|{school_id}|{cell}|{attainment_label(band, attainment)}"] = 1
    return found


@lru_cache(maxsize=1 << 16)
def _prefix(c: Characteristics, where: Enrolment, academic_year: str) -> str:
    """"school|cell" of an enrolment in an academic year (few pupils' characteristics change; every
    batch asks again)."""
    school_id, year_group = where.split("|")
    return f"{school_id}|{c.cell(year_group, academic_year)}"
