"""Shared attainment rules: at-or-above, combined RWM, combined GLD / all goals, leavers.

The single source of truth for how a pupil's results combine into a measure; the metrics
service, the statutory service and the reference implementations in tests all import these.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from tidemark_schemas.calendar import PeriodCalendar, PeriodRef
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, GLD_GOALS, Band

COMBINED_RWM = "rwm"
COMBINED_GLD = "gld"
COMBINED_ALL_GOALS = "all_goals"


def at_or_above(band: Band) -> bool:
    return band in (Band.AT, Band.ABOVE)


def combined_rwm(bands: Mapping[str, Band]) -> Band | None:
    """BELOW if any of R, W, M is BELOW, ABOVE if all three are ABOVE, else AT; None if one is missing."""
    core = [bands.get(subject) for subject in CORE_SUBJECTS]
    if any(b is None for b in core):
        return None
    if Band.BELOW in core:
        return Band.BELOW
    if all(b is Band.ABOVE for b in core):
        return Band.ABOVE
    return Band.AT


def _combined_goals(bands: Mapping[str, Band], goals: tuple[str, ...]) -> Band | None:
    results = [bands.get(goal) for goal in goals]
    if any(b is None for b in results):
        return None
    return Band.AT if all(at_or_above(b) for b in results if b is not None) else Band.BELOW


def combined_gld(bands: Mapping[str, Band]) -> Band | None:
    """AT (a Good Level of Development) when all 12 GLD goals are AT or better; None if any is missing."""
    return _combined_goals(bands, GLD_GOALS)


def combined_all_goals(bands: Mapping[str, Band]) -> Band | None:
    """AT when all 17 goals are AT or better; None if any is missing."""
    return _combined_goals(bands, EYFS_GOALS)


def on_roll_during(left_on: date | None, ref: PeriodRef) -> bool:
    """A leaver still counts in the periods that started before they left (history stays stable)."""
    return left_on is None or left_on >= PeriodCalendar.start_date(ref)


def percentage(at_or_above_count: int, assessed: int) -> float | None:
    """Unrounded % at or above; None (not 0) when nobody was assessed."""
    return None if assessed == 0 else 100.0 * at_or_above_count / assessed
