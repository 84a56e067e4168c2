"""Diminishing the Difference: the gap between two groups' % at or above, and whether it widens.

Gender gap = % female - % male; disadvantaged gap = % not disadvantaged - % disadvantaged (rules of
record). Gaps are taken from unrounded percentages and rounded once, for display only. A gap is
widening when its absolute value grew since the previous period, so a gap that changes sign
(+2 -> -5) widens even though its signed value fell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

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
    """A gap between two groups now and in the previous period, and whether it widened."""

    gap: Annotated[float | None, Field(description="Unrounded first % - second %; null when either group has no data")]
    previous_gap: Annotated[float | None, Field(description="The gap in the previous period; null without data")]
    change: Annotated[float | None, Field(description="gap - previous_gap to 1 dp; null when either is null")]
    display: Annotated[
        str, Field(description="'+2.3', '-1.0', '~ 0' (rounds to 0.0), 'no data' (no gap now), '–' (no gap before)")
    ]
    direction: Annotated[Direction, Field(description="Direction of the signed gap's change")]
    widening: Annotated[
        bool | None,
        Field(description="|gap| > |previous gap| (red when true, green when false); null when either gap is null"),
    ]


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
