"""Which measures a view may ask for, how they map onto stored counters, and their labels."""

from __future__ import annotations

from tidemark_schemas.rules import COMBINED_ALL_GOALS, COMBINED_GLD, COMBINED_RWM
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, PRIMARY_SUBJECTS

GLD_RWM = "gld_rwm"
"""The mixed measure of Progress Over Time and the gender gap: GLD for Reception, RWM for Years 1-6."""

STORED_MEASURES: tuple[str, ...] = PRIMARY_SUBJECTS + EYFS_GOALS + (COMBINED_RWM, COMBINED_GLD, COMBINED_ALL_GOALS)
"""Measures the metrics service keeps counters for."""

MIXED_MEASURES: dict[str, tuple[str, ...]] = {GLD_RWM: (COMBINED_GLD, COMBINED_RWM)}
"""Measures pooled at read time from stored ones (a Reception pupil has no RWM and a Year 1-6
pupil no GLD, so summing the two counts every pupil at most once)."""

MEASURES: tuple[str, ...] = STORED_MEASURES + tuple(MIXED_MEASURES)

PRIMARY_OVERVIEW: tuple[str, ...] = (*CORE_SUBJECTS, COMBINED_RWM)
"""The tiles of the Primary Subjects Overview widget, in display order."""

EYFS_OVERVIEW: tuple[str, ...] = (COMBINED_GLD, COMBINED_ALL_GOALS)
"""The tiles of the EYFS Subjects Overview widget, in display order."""

GENDER_GAP_MEASURE = GLD_RWM
"""The gender gap widget uses GLD or RWM by the pupil's year group (pooled)."""
DISADVANTAGED_GAP_MEASURE = COMBINED_RWM
"""The disadvantaged gap widget uses combined RWM only (as the product we mirror names it)."""

DASHBOARD_MEASURES: tuple[str, ...] = tuple(
    dict.fromkeys(PRIMARY_OVERVIEW + EYFS_OVERVIEW + (GENDER_GAP_MEASURE, DISADVANTAGED_GAP_MEASURE))
)
"""Every measure the dashboard reads for this period and the previous one."""

SUBJECT_ROWS: tuple[str, ...] = (*CORE_SUBJECTS, COMBINED_RWM)
"""The rows of a by=subject view (Progress Over Time)."""

GAP_SUBJECTS: tuple[str, ...] = (*CORE_SUBJECTS, COMBINED_RWM, GLD_RWM)
"""What the gaps report may compare."""

_LABELS: dict[str, str] = {
    "reading": "Reading",
    "writing": "Writing",
    "maths": "Mathematics",
    "science": "Science",
    "spoken_language": "Spoken language",
    "art": "Art and design",
    "computing": "Computing",
    "design_technology": "Design and technology",
    "geography": "Geography",
    "history": "History",
    "languages": "Languages",
    "music": "Music",
    "pe": "Physical education",
    "pshe": "PSHE",
    "re": "Religious education",
    "E01": "Listening, attention and understanding",
    "E02": "Speaking",
    "E03": "Self-regulation",
    "E04": "Managing self",
    "E05": "Building relationships",
    "E06": "Gross motor skills",
    "E07": "Fine motor skills",
    "E08": "Comprehension",
    "E09": "Word reading",
    "E10": "Writing (ELG)",
    "E11": "Number",
    "E12": "Numerical patterns",
    "E13": "Past and present",
    "E14": "People, culture and communities",
    "E15": "The natural world",
    "E16": "Creating with materials",
    "E17": "Being imaginative and expressive",
    COMBINED_RWM: "Combined (RWM)",
    COMBINED_GLD: "Combined (GLD)",
    COMBINED_ALL_GOALS: "Combined (All Goals)",
    GLD_RWM: "Combined (GLD or RWM)",
}


def check_measure(value: str) -> str:
    """Validator for the `measure` parameter: the error lists what is allowed."""
    if value not in MEASURES:
        raise ValueError(f"unknown measure {value!r}; expected one of {', '.join(MEASURES)}")
    return value


def stored_measures(measure: str) -> tuple[str, ...]:
    """The stored counters whose sum is `measure`."""
    return MIXED_MEASURES.get(measure, (measure,))


def measure_label(measure: str) -> str:
    return _LABELS.get(measure, measure)
