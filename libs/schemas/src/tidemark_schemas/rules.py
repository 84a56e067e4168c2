"""Shared attainment rules: disadvantaged, at-or-above, combined RWM, combined GLD / all goals, leavers.

The single source of truth for how a pupil's results combine into a measure; the metrics
service, the statutory service and the reference implementations in tests all import these.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from tidemark_schemas.calendar import PeriodCalendar, PeriodRef, academic_year_of, parse_academic_year
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, GLD_GOALS, Band, YearGroup

COMBINED_RWM = "rwm"
COMBINED_GLD = "gld"
COMBINED_ALL_GOALS = "all_goals"


def is_disadvantaged(fsm6: bool, lac: bool, plac: bool) -> bool:
    """Disadvantaged: free school meals at any point in six years, looked after, or previously
    looked after (domain.md)."""
    return fsm6 or lac or plac


def at_or_above(band: Band) -> bool:
    return band in (Band.AT, Band.ABOVE)


def combined_rwm(bands: Mapping[str, Band]) -> Band | None:
    """BELOW if any of R, W, M is BELOW, ABOVE if all three are ABOVE, else AT; None if one is missing."""
    return _lowest_band(bands, CORE_SUBJECTS)


def _lowest_band(bands: Mapping[str, Band], subjects: tuple[str, ...]) -> Band | None:
    """The lowest band across `subjects` decides: BELOW if any is BELOW, ABOVE if all are ABOVE,
    otherwise AT; None if any is missing."""
    results = [bands.get(subject) for subject in subjects]
    if any(b is None for b in results):
        return None
    if Band.BELOW in results:
        return Band.BELOW
    if all(b is Band.ABOVE for b in results):
        return Band.ABOVE
    return Band.AT


def combined_gld(bands: Mapping[str, Band]) -> Band | None:
    """Over the 12 GLD goals, the lowest band decides (ABOVE when all 12 are ABOVE); AT or ABOVE is
    a Good Level of Development. None if any goal is missing."""
    return _lowest_band(bands, GLD_GOALS)


def combined_all_goals(bands: Mapping[str, Band]) -> Band | None:
    """Over all 17 goals, the lowest band decides, as for GLD; None if any goal is missing."""
    return _lowest_band(bands, EYFS_GOALS)


def on_roll_during(left_on: date | None, ref: PeriodRef) -> bool:
    """A leaver still counts in the periods that started before they left (history stays stable)."""
    return left_on is None or left_on >= PeriodCalendar.start_date(ref)


def percentage(at_or_above_count: int, assessed: int) -> float | None:
    """Unrounded % at or above; None (not 0) when nobody was assessed."""
    return None if assessed == 0 else 100.0 * at_or_above_count / assessed


_YEAR_GROUPS: tuple[YearGroup, ...] = tuple(YearGroup)
"""Reception first, then Years 1-6: a pupil moves up one each academic year."""


def year_group_on(current: YearGroup, day: date, as_of: date) -> YearGroup | None:
    """The pupil's year group in the academic year of `day`, from the one on their record, which is
    the year group of the academic year of `as_of` (today's, or a leaver's when they left): one
    less for each year back. None when the pupil was not yet in Reception then (or would have left
    primary school)."""
    offset = parse_academic_year(academic_year_of(day)) - parse_academic_year(academic_year_of(as_of))
    position = _YEAR_GROUPS.index(current) + offset
    return _YEAR_GROUPS[position] if 0 <= position < len(_YEAR_GROUPS) else None
