"""Change since the previous period, as the Summative Dashboard tiles show it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import Field

Direction = Literal["up", "down", "none"]

ABOUT_ZERO = "~ 0"
"""Shown when the change rounds to 0.0: no change."""

NO_DATA = "no data"
"""Shown when the current period has no data (yet): "~ 0" would claim the figure held steady."""

NO_COMPARISON = "–"
"""Shown when the previous period has no data: there is nothing to compare with, and "~ 0" would
claim the figure held steady (not decided by the rules of record; see the gateway README)."""


def round_1dp(value: float) -> float:
    """One decimal place, halves away from zero (2.25 -> 2.3), as people round; not banker's rounding."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Change:
    """A figure's change on the previous one, as a tile shows it."""

    difference: Annotated[float | None, Field(description="Unrounded, on the previous academic year")]
    """Unrounded percentage points (current - previous); None when either has no data."""
    change: Annotated[float | None, Field(description="One decimal place")]
    """`difference` to one decimal place (what the tile shows)."""
    direction: Direction
    display: Annotated[
        str, Field(description="+2.3, -1.0, ~ 0 (rounds to 0.0), 'no data' (none this year), or – when last year has none")
    ]


def change_since(current: float | None, previous: float | None) -> Change:
    """Compare unrounded percentages; the direction follows the rounded change, so "+0.0" never shows."""
    if current is None:
        return Change(None, None, "none", NO_DATA)
    if previous is None:
        return Change(None, None, "none", NO_COMPARISON)
    difference = current - previous
    rounded = round_1dp(difference)
    if rounded == 0:
        return Change(difference, 0.0, "none", ABOUT_ZERO)
    return Change(difference, rounded, "up" if rounded > 0 else "down", f"{rounded:+.1f}")
