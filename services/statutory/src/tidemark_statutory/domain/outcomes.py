"""The statutory rules: from one pupil's locked statutory values to an outcome label per measure.

Pure functions, no I/O. `outcomes` decides eligibility (a pupil absent from the result is not in
the measure's denominator) and the label each eligible pupil is counted under; the figures
themselves follow from label counts (`tidemark_schemas.statutory_measures.figures`). Codes and what
they accept come from `tidemark_schemas.statutory.COMPONENTS`; the rules are domain.md
"Statutory measures" and `reference/dfe-rules.md` sections 1-5, with the KS2 eligibility rule of
the product we mirror winning where they differ. Readings are listed in docs/domain-decisions.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date

from tidemark_schemas.calendar import format_academic_year, parse_academic_year
from tidemark_schemas.progress import PriorAttainment
from tidemark_schemas.rules import at_or_above, combined_all_goals, combined_gld, combined_rwm
from tidemark_schemas.statutory import (
    COMPONENTS,
    PHONICS_PASS_MARK,
    TA_NOT_ELIGIBLE,
    Assessment,
    StatutoryValue,
)
from tidemark_schemas.statutory_measures import EXS, GDS, MET, NO, NOT, NOT_TAKEN, YES
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, Band, YearGroup

ResultKey = tuple[str, Assessment, str]
"""(academic year of the assessment, e.g. "2025/26"; assessment; component)."""

Values = Mapping[str, StatutoryValue]
"""One assessment of one pupil in one year: component -> value."""

EXPECTED_SCALED_SCORE = 100
"""KS2 tests: the expected standard."""
HIGHER_SCALED_SCORE = 110
"""KS2 tests: the DfE's "higher standard", counted under GDS (greater depth) with writing GDS."""
EYFS_EXPECTED = "2"
PHONICS_MET = "Wa"
"""The phonics code for "met", used when no mark was sent."""

LEAVER_CUTOFF: tuple[int, int] = (7, 1)
"""(month, day) at the end of an academic year: a pupil who left before 1 July left before that
year's checks and tests were reported, so they are a leaver for its statutory measures; one who
leaves later (a Year 6 pupil leaving on 20 July) keeps their results in that year."""


def _counts(assessment: Assessment, component: str, value: StatutoryValue | None) -> bool:
    """The value is a result that puts the pupil in the denominator: it has a mark, scaled score
    or code, and the code is not one of the component's not-eligible codes (L, F, P; KS2 test M;
    EYFS A)."""
    if value is None or (value.mark is None and value.scaled_score is None and value.code is None):
        return False
    return value.code not in COMPONENTS[assessment][component].not_eligible


def _scaled_outcome(score: int | None) -> str:
    """GDS at 110+, EXS at 100+, else NOT; no scaled score (a code, or a raw mark alone) is NOT."""
    if score is not None and score >= HIGHER_SCALED_SCORE:
        return GDS
    if score is not None and score >= EXPECTED_SCALED_SCORE:
        return EXS
    return NOT


def _tested(values: Values, test: str, ta: str | None) -> str | None:
    """KS2 reading, maths (test and TA) and GPS (test only). L, F or P anywhere in the subject
    takes the pupil out; otherwise the test decides when it has a result (M is no result), else any
    TA makes the pupil eligible but never EXS+ (TA is only for pupils working below the test)."""
    components = (test,) if ta is None else (test, ta)
    if any((v := values.get(c)) is not None and v.code in TA_NOT_ELIGIBLE for c in components):
        return None
    result = values.get(test)
    if result is not None and _counts(Assessment.KS2, test, result):
        return _scaled_outcome(result.scaled_score)
    if ta is not None and _counts(Assessment.KS2, ta, values.get(ta)):
        return NOT
    return None


def _teacher_assessed(assessment: Assessment, values: Values, component: str) -> str | None:
    """A TA-only subject (KS2 writing and science, every KS1 subject): eligible with any TA but
    L, F, P; TA GDS is GDS, TA EXS is EXS, every other code is NOT."""
    value = values.get(component)
    if value is None or not _counts(assessment, component, value):
        return None
    return {"GDS": GDS, "EXS": EXS}.get(value.code or "", NOT)


_AS_BAND = {GDS: Band.ABOVE, EXS: Band.AT, NOT: Band.BELOW}
_FROM_BAND = {band: label for label, band in _AS_BAND.items()}


def _combined(subjects: Mapping[str, str | None]) -> str | None:
    """RWM: the same rule as combined RWM bands (`rules.combined_rwm`): GDS in all three is GDS,
    EXS+ in all three is EXS, else NOT; None unless eligible in all three."""
    band = combined_rwm({s: _AS_BAND[label] for s, label in subjects.items() if label is not None})
    return None if band is None else _FROM_BAND[band]


def _ks2(values: Values) -> dict[str, str | None]:
    found = {
        "ks2.reading": _tested(values, "reading_test", "reading_ta"),
        "ks2.maths": _tested(values, "maths_test", "maths_ta"),
        "ks2.gps": _tested(values, "gps_test", None),
        "ks2.writing": _teacher_assessed(Assessment.KS2, values, "writing_ta"),
        "ks2.science": _teacher_assessed(Assessment.KS2, values, "science_ta"),
    }
    found["ks2.rwm"] = _combined({s: found[f"ks2.{s}"] for s in CORE_SUBJECTS})
    for subject in ("reading", "maths", "gps"):
        test = values.get(f"{subject}_test")
        if found[f"ks2.{subject}"] is not None and test is not None and test.scaled_score is not None:
            found[f"ks2.{subject}_ss"] = str(test.scaled_score)
    return found


def _ks1(values: Values) -> dict[str, str | None]:
    found = {
        f"ks1.{s}": _teacher_assessed(Assessment.KS1, values, f"{s}_ta") for s in (*CORE_SUBJECTS, "science")
    }
    found["ks1.rwm"] = _combined({s: found[f"ks1.{s}"] for s in CORE_SUBJECTS})
    return found


def _eyfs(values: Values) -> dict[str, str | None]:
    """Only a complete profile (all 17 goals) with no goal coded A counts; GLD and all goals use the
    shared combined rules, with expected (2) as AT and emerging (1) as BELOW."""
    if not all(_counts(Assessment.EYFS, goal, values.get(goal)) for goal in EYFS_GOALS):
        return {}
    bands = {goal: Band.AT if values[goal].code == EYFS_EXPECTED else Band.BELOW for goal in EYFS_GOALS}
    return {
        "eyfs.gld": YES if _achieved(combined_gld(bands)) else NO,
        "eyfs.all_goals": YES if _achieved(combined_all_goals(bands)) else NO,
        "eyfs.goals": str(sum(band is Band.AT for band in bands.values())),
    }


def _achieved(band: Band | None) -> bool:
    return band is not None and at_or_above(band)


def _mtc(values: Values) -> dict[str, str | None]:
    """The score for a pupil who took the check; NT for a not-taken reason; L is not eligible."""
    value = values.get("score")
    if value is None or not _counts(Assessment.MTC, "score", value):
        return {}
    return {"mtc.score": NOT_TAKEN if value.mark is None else str(value.mark)}


_PER_YEAR: dict[Assessment, Callable[[Values], dict[str, str | None]]] = {
    Assessment.KS2: _ks2,
    Assessment.KS1: _ks1,
    Assessment.EYFS: _eyfs,
    Assessment.MTC: _mtc,
}
"""Assessments whose measures depend on one year's values only (phonics links two years)."""


def _phonics_check(component: str, value: StatutoryValue) -> str | None:
    """MET at mark 32+ (or Wa without a mark); NOT for a lower mark, Wt, A, D, Q; None for L."""
    if not _counts(Assessment.PHONICS, component, value):
        return None
    if value.mark is not None:
        return MET if value.mark >= PHONICS_PASS_MARK else NOT
    return MET if value.code == PHONICS_MET else NOT


def _phonics(results: Mapping[ResultKey, StatutoryValue]) -> dict[tuple[str, str], str]:
    """Year 1 in the year of the check; the Year 2 retake for pupils who had not met it in Year 1;
    end of KS1 in the Year 2 year (the retake's year, or the year after the Year 1 check)."""
    checks: dict[str, dict[str, str]] = {"year1": {}, "year2": {}}
    for (year, assessment, component), value in results.items():
        if assessment is not Assessment.PHONICS or component not in checks:
            continue
        if (outcome := _phonics_check(component, value)) is not None:
            checks[component][year] = outcome
    year1, year2 = checks["year1"], checks["year2"]

    def year1_before(year: str) -> str | None:
        earlier = [y for y in year1 if parse_academic_year(y) < parse_academic_year(year)]
        return year1[max(earlier, key=parse_academic_year)] if earlier else None

    found = {(year, "phonics.y1"): outcome for year, outcome in year1.items()}
    for year, outcome in year2.items():
        if year1_before(year) != MET:
            found[(year, "phonics.y2")] = outcome
    year2_years = set(year2) | {format_academic_year(parse_academic_year(y) + 1) for y in year1}
    for year in year2_years:
        counted = [o for o in (year1_before(year), year2.get(year)) if o is not None]
        if counted:
            found[(year, "phonics.ks1")] = MET if MET in counted else NOT
    return found


def outcomes(results: Mapping[ResultKey, StatutoryValue]) -> dict[tuple[str, str], str]:
    """Every (academic year, measure id) the pupil is eligible for, with their outcome label, from
    ALL of one pupil's locked statutory values. A missing key means not in that denominator."""
    by_year: dict[tuple[str, Assessment], dict[str, StatutoryValue]] = defaultdict(dict)
    for (year, assessment, component), value in results.items():
        by_year[(year, assessment)][component] = value
    found: dict[tuple[str, str], str] = {}
    for (year, assessment), values in by_year.items():
        if assessment in _PER_YEAR:
            found |= {
                (year, m): label for m, label in _PER_YEAR[assessment](values).items() if label is not None
            }
    return found | _phonics(results)


_PRIOR_FROM_GLD = {YES: PriorAttainment.EXPECTED, NO: PriorAttainment.BELOW}
_PRIOR_FROM_KS1_RWM = {
    GDS: PriorAttainment.GREATER_DEPTH,
    EXS: PriorAttainment.EXPECTED,
    NOT: PriorAttainment.BELOW,
}


def prior_attainment(
    results: Mapping[ResultKey, StatutoryValue], year_group: YearGroup
) -> PriorAttainment | None:
    """Years 1-2: GLD at the end of Reception (GLD is EXPECTED, no GLD is BELOW); Years 3-6: KS1
    combined RWM TA (GDS in all three is GREATER_DEPTH, EXS+ in all three EXPECTED, else BELOW).
    The latest year with an eligible result; None without one, and always None in Reception."""
    if year_group is YearGroup.R:
        return None
    if year_group in (YearGroup.Y1, YearGroup.Y2):
        measure, prior = "eyfs.gld", _PRIOR_FROM_GLD
    else:
        measure, prior = "ks1.rwm", _PRIOR_FROM_KS1_RWM
    found = {year: label for (year, m), label in outcomes(results).items() if m == measure}
    if not found:
        return None
    return prior[found[max(found, key=parse_academic_year)]]


def statutory_leaver(left_on: date | None, academic_year: str) -> bool:
    """Statutory measures exclude leavers: a pupil is one for an academic year when they left
    before 1 July at its end (`LEAVER_CUTOFF`), whether that year or earlier."""
    if left_on is None:
        return False
    month, day = LEAVER_CUTOFF
    return left_on < date(parse_academic_year(academic_year) + 1, month, day)
