"""Diminishing the Difference: the gap between two groups' % at or above, and whether it widens.

Gender gap = % female - % male; disadvantaged gap = % not disadvantaged - % disadvantaged (rules of
record). Gaps are taken from unrounded percentages and rounded once, for display only. A gap is
widening when its absolute value grew since the previous period, so a gap that changes sign
(+2 -> -5) widens even though its signed value fell.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidemark_gateway.domain.change import Direction, change_since


@dataclass(frozen=True, slots=True)
class GapKind:
    """Which grouping a gap splits pupils by, and its two groups: gap = first - second."""

    grouping: str
    first: str
    second: str


GAPS: dict[str, GapKind] = {
    "sex": GapKind("sex", "F", "M"),
    "disadvantaged": GapKind("disadvantaged", "not_disadvantaged", "disadvantaged"),
}


def check_gap(value: str) -> str:
    """Validator for the `gap` parameter."""
    if value not in GAPS:
        raise ValueError(f"unknown gap {value!r}; expected one of {', '.join(GAPS)}")
    return value


@dataclass(frozen=True, slots=True)
class GapTile:
    gap: float | None
    """Unrounded first % - second %; None when either group has no data."""
    previous_gap: float | None
    change: float | None
    """gap - previous_gap to one decimal place; None when either gap is None."""
    display: str
    direction: Direction
    widening: bool | None
    """|gap| > |previous gap|; None when either gap is None."""


def gap_of(first_pct: float | None, second_pct: float | None) -> float | None:
    if first_pct is None or second_pct is None:
        return None
    return first_pct - second_pct


def is_widening(gap: float | None, previous_gap: float | None) -> bool | None:
    """Compared on absolute values, since which group is ahead does not matter to the size of the gap."""
    if gap is None or previous_gap is None:
        return None
    return abs(gap) > abs(previous_gap)


def gap_tile(gap: float | None, previous_gap: float | None) -> GapTile:
    change = change_since(gap, previous_gap)
    return GapTile(gap, previous_gap, change.change, change.display, change.direction, is_widening(gap, previous_gap))
