"""Closed code lists of the domain (year groups, bands, subjects, pupil characteristics)."""

from __future__ import annotations

from enum import StrEnum


class YearGroup(StrEnum):
    R = "R"
    Y1 = "Y1"
    Y2 = "Y2"
    Y3 = "Y3"
    Y4 = "Y4"
    Y5 = "Y5"
    Y6 = "Y6"


PRIMARY_YEAR_GROUPS: tuple[YearGroup, ...] = tuple(y for y in YearGroup if y is not YearGroup.R)


class Band(StrEnum):
    """Age Related Expectations band of a summative result."""

    BELOW = "BELOW"
    AT = "AT"
    ABOVE = "ABOVE"


class Sex(StrEnum):
    F = "F"
    M = "M"


class SenProvision(StrEnum):
    """N no special provision, K SEN support, E education, health and care plan."""

    N = "N"
    K = "K"
    E = "E"


CORE_SUBJECTS: tuple[str, ...] = ("reading", "writing", "maths")
"""The three subjects of combined RWM."""

OTHER_PRIMARY_SUBJECTS: tuple[str, ...] = (
    "science",
    "spoken_language",
    "art",
    "computing",
    "design_technology",
    "geography",
    "history",
    "languages",
    "music",
    "pe",
    "pshe",
    "re",
)
"""Further National Curriculum subjects a tracker may send for Years 1-6."""

PRIMARY_SUBJECTS: tuple[str, ...] = CORE_SUBJECTS + OTHER_PRIMARY_SUBJECTS

EYFS_GOALS: tuple[str, ...] = tuple(f"E{n:02d}" for n in range(1, 18))
"""The 17 Early Learning Goals E01..E17, assessed in Reception."""

GLD_GOALS: tuple[str, ...] = EYFS_GOALS[:12]
"""The 12 goals (prime areas, literacy, maths) that make a Good Level of Development."""


def subjects_for(year_group: YearGroup) -> tuple[str, ...]:
    """Subjects a summative result may carry for a year group: goals in Reception, else subjects."""
    return EYFS_GOALS if year_group is YearGroup.R else PRIMARY_SUBJECTS
