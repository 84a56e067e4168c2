"""The statutory headline measures and how each figure follows from counts of outcome labels.

The statutory service files every eligible pupil under one outcome label per measure
(`tidemark_statutory.domain.outcomes`); read models keep only counts per label. This module is the
one place that says which labels a measure has and how its figures (eligible, % EXS+, average, ...)
are computed from those counts, so the service and the gateway cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from tidemark_schemas.rules import percentage
from tidemark_schemas.statutory import COMPONENTS, MTC_FULL_MARKS, Assessment
from tidemark_schemas.vocabulary import EYFS_GOALS

GDS = "GDS"
"""Greater depth; for KS2 reading, maths and GPS the DfE's "higher standard" (scaled score >= 110)."""
EXS = "EXS"
"""At the expected standard but not greater depth (EXS+ = EXS + GDS)."""
NOT = "NOT"
"""Eligible, standard not met (also phonics "not met")."""
YES = "YES"
NO = "NO"
MET = "MET"
NOT_TAKEN = "NT"
"""MTC: eligible but did not take the check (absent, unable, working below, just arrived, missing)."""


class MeasureKind(StrEnum):
    """How a measure's figures are computed from its label counts."""

    THRESHOLD = "threshold"  # GDS / EXS / NOT: % EXS+ and % GDS
    EXPECTED = "expected"  # EXS / NOT: % EXS
    RATE = "rate"  # first label (YES, MET) / the other: % of eligible
    SCORE = "score"  # the label is a number: average over pupils
    MTC = "mtc"  # score labels and NT: average over takers, % full marks over all eligible


FIGURES: dict[MeasureKind, tuple[str, ...]] = {
    MeasureKind.THRESHOLD: ("eligible", "exs_plus_pct", "gds_pct"),
    MeasureKind.EXPECTED: ("eligible", "exs_plus_pct"),
    MeasureKind.RATE: ("eligible", "pct"),
    MeasureKind.SCORE: ("pupils", "average"),
    MeasureKind.MTC: ("eligible", "took", "average", "full_marks_pct"),
}
"""The figures `figures()` returns for each kind of measure."""


@dataclass(frozen=True)
class StatutoryMeasure:
    """One headline measure. `labels`: every outcome label an eligible pupil can have (for a RATE
    measure the first is the one counted in the %)."""

    id: str
    assessment: Assessment
    label: str
    labels: tuple[str, ...]
    kind: MeasureKind

    @property
    def figure_names(self) -> tuple[str, ...]:
        return FIGURES[self.kind]


def _numbers(bounds: tuple[int, int] | None) -> tuple[str, ...]:
    """Every whole number of an inclusive range, as labels ("80".."120")."""
    if bounds is None:
        raise ValueError("this component has no numeric range")
    return tuple(str(n) for n in range(bounds[0], bounds[1] + 1))


def _scaled(test: str) -> tuple[str, ...]:
    return _numbers(COMPONENTS[Assessment.KS2][test].scaled)


_THRESHOLD = (GDS, EXS, NOT)
_GOALS = _numbers((0, len(EYFS_GOALS)))
_MTC = COMPONENTS[Assessment.MTC]["score"]

_ROWS: tuple[tuple[str, str, tuple[str, ...], MeasureKind], ...] = (
    ("ks2.reading", "KS2 reading", _THRESHOLD, MeasureKind.THRESHOLD),
    ("ks2.writing", "KS2 writing", _THRESHOLD, MeasureKind.THRESHOLD),
    ("ks2.maths", "KS2 mathematics", _THRESHOLD, MeasureKind.THRESHOLD),
    ("ks2.rwm", "KS2 reading, writing and mathematics combined", _THRESHOLD, MeasureKind.THRESHOLD),
    ("ks2.gps", "KS2 grammar, punctuation and spelling", _THRESHOLD, MeasureKind.THRESHOLD),
    ("ks2.science", "KS2 science", (EXS, NOT), MeasureKind.EXPECTED),
    ("ks2.reading_ss", "KS2 reading average scaled score", _scaled("reading_test"), MeasureKind.SCORE),
    ("ks2.maths_ss", "KS2 mathematics average scaled score", _scaled("maths_test"), MeasureKind.SCORE),
    ("ks2.gps_ss", "KS2 GPS average scaled score", _scaled("gps_test"), MeasureKind.SCORE),
    ("ks1.reading", "KS1 reading", _THRESHOLD, MeasureKind.THRESHOLD),
    ("ks1.writing", "KS1 writing", _THRESHOLD, MeasureKind.THRESHOLD),
    ("ks1.maths", "KS1 mathematics", _THRESHOLD, MeasureKind.THRESHOLD),
    ("ks1.rwm", "KS1 reading, writing and mathematics combined", _THRESHOLD, MeasureKind.THRESHOLD),
    ("ks1.science", "KS1 science", (EXS, NOT), MeasureKind.EXPECTED),
    ("eyfs.gld", "Good level of development", (YES, NO), MeasureKind.RATE),
    ("eyfs.all_goals", "Expected in all 17 Early Learning Goals", (YES, NO), MeasureKind.RATE),
    ("eyfs.goals", "Average number of Early Learning Goals at expected", _GOALS, MeasureKind.SCORE),
    ("phonics.y1", "Phonics screening check, Year 1", (MET, NOT), MeasureKind.RATE),
    ("phonics.y2", "Phonics screening check retake, Year 2", (MET, NOT), MeasureKind.RATE),
    ("phonics.ks1", "Phonics standard met by the end of Year 2", (MET, NOT), MeasureKind.RATE),
    ("mtc.score", "Multiplication tables check", (*_numbers(_MTC.marks), NOT_TAKEN), MeasureKind.MTC),
)

MEASURES: dict[str, StatutoryMeasure] = {
    id_: StatutoryMeasure(id_, Assessment(id_.split(".")[0]), label, labels, kind)
    for id_, label, labels, kind in _ROWS
}
"""Every statutory headline measure by id."""


def _average(counts: Mapping[str, int]) -> float | None:
    """Mean of numeric labels weighted by their counts; None (not 0) without pupils."""
    pupils = sum(counts.values())
    return None if pupils == 0 else sum(int(label) * n for label, n in counts.items()) / pupils


def figures(measure_id: str, counts: Mapping[str, int]) -> dict[str, float | int | None]:
    """A measure's figures from the number of eligible pupils per outcome label (absent label = 0).
    Unrounded; every % and average is None when its denominator is 0. Unknown labels are an error,
    not silently dropped, so a mismatch between writer and reader shows at once."""
    measure = MEASURES[measure_id]
    unknown = set(counts) - set(measure.labels)
    if unknown:
        raise ValueError(f"unknown outcome labels for {measure_id}: {sorted(unknown)}")
    n = {label: counts.get(label, 0) for label in measure.labels}
    eligible = sum(n.values())
    match measure.kind:
        case MeasureKind.THRESHOLD:
            return {
                "eligible": eligible,
                "exs_plus_pct": percentage(n[EXS] + n[GDS], eligible),
                "gds_pct": percentage(n[GDS], eligible),
            }
        case MeasureKind.EXPECTED:
            return {"eligible": eligible, "exs_plus_pct": percentage(n[EXS], eligible)}
        case MeasureKind.RATE:
            return {"eligible": eligible, "pct": percentage(n[measure.labels[0]], eligible)}
        case MeasureKind.SCORE:
            return {"pupils": eligible, "average": _average(n)}
        case MeasureKind.MTC:
            scores = {label: count for label, count in n.items() if label != NOT_TAKEN}
            return {
                "eligible": eligible,
                "took": sum(scores.values()),
                "average": _average(scores),
                "full_marks_pct": percentage(n[str(MTC_FULL_MARKS)], eligible),
            }
    raise AssertionError(f"unhandled measure kind {measure.kind}")
