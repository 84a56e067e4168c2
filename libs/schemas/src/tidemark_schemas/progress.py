"""Progress from statutory assessment: prior attainment x current combined RWM band -> category.

Shared by the statutory service (which works out each pupil's prior attainment from their
statutory results, `tidemark_statutory.domain.outcomes.prior_attainment`) and the gateway (which
shows the categories). The matrix is the one in domain.md, "Progress from statutory assessment".
"""

from __future__ import annotations

from enum import StrEnum

from tidemark_schemas.vocabulary import Band


class PriorAttainment(StrEnum):
    """Where the pupil started: Years 1-2 from GLD (no GLD is BELOW, GLD is EXPECTED), Years 3-6
    from KS1 combined RWM teacher assessment."""

    BELOW = "below"
    EXPECTED = "expected"
    GREATER_DEPTH = "greater_depth"


class ProgressCategory(StrEnum):
    """The seven categories and "not categorised". Member order is the display order, the
    product's: Not on track, On track, Accelerated track; BELOW before AT before ABOVE within each.

    The values are stable ids (Redis counter fields, `attainment.progress.v1`); what people see is
    `CATEGORY_LABELS`."""

    NOT_ON_TRACK_BELOW = "not_on_track_below"
    NOT_ON_TRACK_AT = "not_on_track_at"
    ON_TRACK_BELOW = "on_track_below"
    ON_TRACK_AT = "on_track_at"
    ON_TRACK_ABOVE = "on_track_above"
    ACCELERATED_AT = "accelerated_at"
    ACCELERATED_ABOVE = "accelerated_above"
    NOT_CATEGORISED = "not_categorised"


CATEGORY_LABELS: dict[ProgressCategory, str] = {
    ProgressCategory.NOT_ON_TRACK_BELOW: "Not on track and BELOW standard",
    ProgressCategory.NOT_ON_TRACK_AT: "Not on track but AT standard",
    ProgressCategory.ON_TRACK_BELOW: "On track but BELOW standard",
    ProgressCategory.ON_TRACK_AT: "On track and AT standard",
    ProgressCategory.ON_TRACK_ABOVE: "On track and ABOVE standard",
    ProgressCategory.ACCELERATED_AT: "Accelerated track and AT standard",
    ProgressCategory.ACCELERATED_ABOVE: "Accelerated track and ABOVE standard",
    ProgressCategory.NOT_CATEGORISED: "Not categorised",
}
"""What people see (the product's own words), in display order."""

_MATRIX: dict[PriorAttainment, dict[Band, ProgressCategory]] = {
    # "Accelerated" is only for pupils who previously performed below expectation.
    PriorAttainment.BELOW: {
        Band.BELOW: ProgressCategory.ON_TRACK_BELOW,
        Band.AT: ProgressCategory.ACCELERATED_AT,
        Band.ABOVE: ProgressCategory.ACCELERATED_ABOVE,
    },
    PriorAttainment.EXPECTED: {
        Band.BELOW: ProgressCategory.NOT_ON_TRACK_BELOW,
        Band.AT: ProgressCategory.ON_TRACK_AT,
        Band.ABOVE: ProgressCategory.ON_TRACK_ABOVE,
    },
    PriorAttainment.GREATER_DEPTH: {
        Band.BELOW: ProgressCategory.NOT_ON_TRACK_BELOW,
        Band.AT: ProgressCategory.NOT_ON_TRACK_AT,
        Band.ABOVE: ProgressCategory.ON_TRACK_ABOVE,
    },
}


def progress_category(prior: PriorAttainment | None, current: Band | None) -> ProgressCategory | None:
    """The pupil's category; None when they have no combined RWM band in the period (they are not
    in the view at all), NOT_CATEGORISED when they have a band but no prior statutory result."""
    if current is None:
        return None
    if prior is None:
        return ProgressCategory.NOT_CATEGORISED
    return _MATRIX[prior][current]
