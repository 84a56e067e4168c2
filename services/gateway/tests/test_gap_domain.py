"""Pure rules of the new views: gaps and widening, data completion rows, series over the window."""

from __future__ import annotations

import pytest

from tidemark_gateway.domain.gaps import gap_of, gap_tile, is_widening
from tidemark_gateway.domain.pupils import completion_row
from tidemark_gateway.domain.trends import series
from tidemark_gateway.testing import GIRL_Y3
from tidemark_schemas.aggregates import PupilFilter, encode_field
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef
from tidemark_schemas.vocabulary import Band, YearGroup


def test_a_gap_is_the_first_groups_pct_minus_the_seconds_and_none_without_either() -> None:
    assert gap_of(76.9, 62.5) == pytest.approx(14.4)
    assert gap_of(50.0, 75.0) == -25.0
    assert gap_of(None, 50.0) is None
    assert gap_of(50.0, None) is None


@pytest.mark.parametrize(
    ("gap", "previous", "widening"),
    [
        (10.0, 5.0, True),
        (5.0, 10.0, False),
        (-10.0, -5.0, True),  # girls further behind: wider although the signed gap fell
        (-5.0, 2.0, True),  # the sign flipped and the gap grew in size
        (3.0, -5.0, False),  # the sign flipped and the gap shrank in size
        (5.0, -5.0, False),  # same size is not widening
        (None, 5.0, None),
        (5.0, None, None),
    ],
)
def test_widening_compares_absolute_gaps(gap: float | None, previous: float | None, widening: bool | None) -> None:
    assert is_widening(gap, previous) is widening


def test_a_gap_tile_rounds_its_change_once_from_unrounded_gaps() -> None:
    tile = gap_tile(100 / 3 - 50.0, -25.0)  # -16.666... against -25: narrower, signed change +8.3

    assert (tile.change, tile.display, tile.direction, tile.widening) == (8.3, "+8.3", "up", False)
    assert gap_tile(None, 4.0).display == "no data"
    assert gap_tile(4.0, None).display == "–"


def test_the_window_series_covers_three_years_oldest_first_with_empty_periods_null() -> None:
    window = PeriodCalendar().window("2025/26")
    counters = {PeriodRef("2024/25", "SUM2"): [("S1", {encode_field(GIRL_Y3, Band.AT): 3,
                                                       encode_field(GIRL_Y3, Band.BELOW): 1})]}

    points = series(window, counters, PupilFilter())

    assert len(points) == 18
    assert (points[0].academic_year, points[0].period, points[0].n, points[0].pct) == ("2023/24", "AUT1", 0, None)
    assert [(p.academic_year, p.period, p.pct) for p in points if p.n] == [("2024/25", "SUM2", 75.0)]


@pytest.mark.parametrize(
    ("on_roll", "entered", "missing", "left", "complete", "status"),
    [(30, 30, 0, 0, True, "complete"), (30, 27, 3, 0, False, "incomplete"),
     (30, 31, 0, 1, True, "complete"),  # a leaver's entry is not a missing result
     (0, 0, 0, 0, False, "incomplete"), (0, 2, 0, 2, False, "leavers_only")],
)
def test_missing_never_goes_below_zero_and_leavers_entries_never_make_a_row_incomplete(
    on_roll: int, entered: int, missing: int, left: int, complete: bool, status: str
) -> None:
    row = completion_row("S1", "Oak Primary", YearGroup.Y3, "reading", on_roll, entered, 0)

    assert (row.missing, row.left, row.complete, row.status) == (missing, left, complete, status)
