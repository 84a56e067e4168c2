"""Statutory assessment results: what may be recorded, as one table per component (the code tables).

The single source of truth for what a statutory value may be. Ingest validates records against
it; the statutory service reads the same values to decide eligibility and outcomes
(`tidemark_statutory.domain.outcomes`). Codes follow `reference/dfe-rules.md` sections 1-5.

A statutory result is one component of one assessment of one pupil in one academic year
(e.g. KS2 2025/26 `reading_test`), with a raw mark, a scaled score and/or a code. Like summative
results they are entered, then locked; only locked values count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from tidemark_schemas.records import AcademicYear, AssessedOn, Identifier, in_the_entrys_year
from tidemark_schemas.vocabulary import EYFS_GOALS, YearGroup


class Assessment(StrEnum):
    EYFS = "eyfs"
    PHONICS = "phonics"
    KS1 = "ks1"
    MTC = "mtc"
    KS2 = "ks2"


ASSESSMENT_YEAR_GROUP: dict[Assessment, YearGroup] = {
    Assessment.EYFS: YearGroup.R,
    Assessment.PHONICS: YearGroup.Y1,  # the Year 2 retake is its own component
    Assessment.KS1: YearGroup.Y2,
    Assessment.MTC: YearGroup.Y4,
    Assessment.KS2: YearGroup.Y6,
}
"""The year group an assessment is taken in (the phonics retake: Year 2)."""


@dataclass(frozen=True)
class ComponentSpec:
    """What one component accepts. `marks` / `scaled`: inclusive ranges, None when not accepted.
    `codes`: every code accepted; `codes_with_mark`: the codes a mark may come with (e.g. KS2 `N`,
    "sat the test, no scaled score"); every other code means the pupil did not sit it, so a mark
    with it is contradictory. `not_eligible`: codes that take the pupil out of the denominator."""

    label: str
    codes: frozenset[str]
    marks: tuple[int, int] | None = None
    scaled: tuple[int, int] | None = None
    codes_with_mark: frozenset[str] = frozenset()
    not_eligible: frozenset[str] = frozenset()
    aliases: dict[str, str] | None = None
    """Codes accepted on input and stored as another (KS2 `T` is the older letter for `U`)."""
    meanings: Mapping[str, str] = field(default_factory=dict)
    """What each code means (the information key of the entry screens); every code has one."""
    taken_in: YearGroup | None = None
    """The year group that takes this component, where it is not the assessment's (the phonics retake: Year 2)."""
    optional: bool = False
    """Entered only for some pupils (KS2 reading and maths TA: pupils working below the test; the
    phonics retake): the entry screens do not count it as missing."""

    @property
    def number_field(self) -> Literal["mark", "scaled_score"] | None:
        """Which value a plain number entered for the component is: its scaled score where it has one
        (KS2 tests), else its mark (phonics, MTC), else None (codes only). An import's component
        column and the entry screens read a number this way."""
        if self.scaled is not None:
            return "scaled_score"
        return "mark" if self.marks is not None else None


KS2_TEST_CODES = frozenset({"N", "A", "B", "J", "U", "H", "Q", "D", "L", "M", "F", "P"})
"""KS2 test outcome codes (dfe-rules 1.5). N: sat, raw mark too low for a scaled score."""
KS2_NOT_ELIGIBLE = frozenset({"L", "M", "F", "P"})
"""Left, missing, future year, previous year: not in any KS2 denominator (the product's rule)."""
PK_KS2 = frozenset(f"PK{n}" for n in range(1, 7))
PK_KS1 = frozenset(f"PK{n}" for n in range(1, 5))
TA_NOT_ELIGIBLE = frozenset({"L", "F", "P"})

KS2_READING_MATHS_TA = PK_KS2 | {"EM", "A"} | TA_NOT_ELIGIBLE
"""Reading and maths TA: only for pupils working below the test (never EXS or GDS)."""
KS2_WRITING_TA = frozenset({"GDS", "EXS", "WTS", "EM", "A", "Q"}) | PK_KS2 | TA_NOT_ELIGIBLE
SCIENCE_TA = frozenset({"EXS", "HNM", "A"}) | TA_NOT_ELIGIBLE
KS1_TA = frozenset({"GDS", "EXS", "WTS", "EM", "A", "Q", "D"}) | PK_KS1 | TA_NOT_ELIGIBLE

PHONICS_CODES = frozenset({"Wa", "Wt", "A", "D", "Q", "L"})
"""Wa met (mark 32-40), Wt not met (mark 0-31); A absent, D disapplied, Q maladministration count
as not met; L left does not count."""
PHONICS_PASS_MARK = 32

MTC_CODES = frozenset({"A", "U", "B", "J", "M", "L"})
"""Not-taken reasons: absent, unable to participate, working below, just arrived, missing reason
(all still eligible for % full marks), and L left (not eligible)."""
MTC_FULL_MARKS = 25

EYFS_CODES = frozenset({"1", "2", "A"})
"""1 emerging, 2 expected, A not assessed (the child is left out of every EYFS measure)."""

KS2_TEST_MEANINGS: Mapping[str, str] = {
    "N": "Sat the test; raw mark too low for a scaled score (not met)",
    "A": "Absent from the test (in the denominator, not met)",
    "B": "Working below the overall standard of the test, not entered (not met)",
    "J": "Just arrived: a recent arrival unable to sit the test (not met)",
    "U": "Unable to access the test even with access arrangements (not met)",
    "T": "Older letter for U (stored as U)",
    "H": "Result annulled: cheating (not met)",
    "Q": "Result annulled: maladministration (not met)",
    "D": "Disapplied (older code; not met)",
    "L": "Left the school before the tests (not in the cohort)",
    "M": "Missing result (not in the cohort)",
    "F": "Will take the test in a future year (not in the cohort)",
    "P": "Took the test in a previous year (not in the cohort)",
}
"""KS2 test outcome codes (dfe-rules 1.5)."""

TA_MEANINGS: Mapping[str, str] = {
    "GDS": "Working at greater depth within the expected standard",
    "EXS": "Working at the expected standard",
    "WTS": "Working towards the expected standard (not met)",
    **{f"PK{n}": f"Pre-key stage standard {n} (below the national curriculum standard; not met)" for n in range(1, 7)},
    "EM": "Assessed with the engagement model (not met)",
    "A": "Absent for long periods, recently arrived or too little evidence for a judgement (not met)",
    "Q": "Maladministration (not met)",
    "D": "Disapplied (older code; not met)",
    "HNM": "Has not met the expected standard",
    "L": "Left the school (not in the cohort)",
    "F": "Will be assessed in a future year (not in the cohort)",
    "P": "Assessed in a previous year (not in the cohort)",
}
"""Teacher assessment codes, KS1 and KS2 (dfe-rules 1.6 and 2)."""

PHONICS_MEANINGS: Mapping[str, str] = {
    "Wa": f"Met the expected standard (mark {PHONICS_PASS_MARK} or more)",
    "Wt": f"Not yet met the expected standard (mark below {PHONICS_PASS_MARK})",
    "A": "Absent (counts as not met)",
    "D": "Disapplied (counts as not met)",
    "Q": "Maladministration (counts as not met)",
    "L": "Left the school (does not count)",
}
MTC_MEANINGS: Mapping[str, str] = {
    "A": "Absent (still in the % with full marks)",
    "U": "Unable to participate (still in the % with full marks)",
    "B": "Working below the standard of the check (still in the % with full marks)",
    "J": "Just arrived (still in the % with full marks)",
    "M": "Missing, no reason given (still in the % with full marks)",
    "L": "Left the school (not in the cohort)",
}
EYFS_MEANINGS: Mapping[str, str] = {
    "1": "Emerging: not yet at the expected level of development for the goal",
    "2": "Expected: at the expected level of development for the goal",
    "A": "Not assessed (the child is left out of every EYFS measure)",
}


def _meanings(codes: frozenset[str], table: Mapping[str, str]) -> dict[str, str]:
    """Each of `codes` with its meaning from `table`, in the table's order (a code missing there fails
    the import of this module: every code has a meaning)."""
    missing = codes - table.keys()
    if missing:
        raise ValueError(f"codes without a meaning: {sorted(missing)}")
    return {code: meaning for code, meaning in table.items() if code in codes}


COMPONENTS: dict[Assessment, dict[str, ComponentSpec]] = {
    Assessment.KS2: {
        "reading_test": ComponentSpec("Reading test", KS2_TEST_CODES | {"T"}, marks=(0, 50), scaled=(80, 120),
                                      codes_with_mark=frozenset({"N"}), not_eligible=KS2_NOT_ELIGIBLE,
                                      aliases={"T": "U"}, meanings=_meanings(KS2_TEST_CODES | {"T"}, KS2_TEST_MEANINGS)),
        "maths_test": ComponentSpec("Mathematics test", KS2_TEST_CODES | {"T"}, marks=(0, 110), scaled=(80, 120),
                                    codes_with_mark=frozenset({"N"}), not_eligible=KS2_NOT_ELIGIBLE,
                                    aliases={"T": "U"}, meanings=_meanings(KS2_TEST_CODES | {"T"}, KS2_TEST_MEANINGS)),
        "gps_test": ComponentSpec("Grammar, punctuation and spelling test", KS2_TEST_CODES | {"T"}, marks=(0, 70),
                                  scaled=(80, 120), codes_with_mark=frozenset({"N"}), not_eligible=KS2_NOT_ELIGIBLE,
                                  aliases={"T": "U"}, meanings=_meanings(KS2_TEST_CODES | {"T"}, KS2_TEST_MEANINGS)),
        "reading_ta": ComponentSpec("Reading teacher assessment", KS2_READING_MATHS_TA, not_eligible=TA_NOT_ELIGIBLE,
                                    meanings=_meanings(KS2_READING_MATHS_TA, TA_MEANINGS), optional=True),
        "maths_ta": ComponentSpec("Mathematics teacher assessment", KS2_READING_MATHS_TA, not_eligible=TA_NOT_ELIGIBLE,
                                  meanings=_meanings(KS2_READING_MATHS_TA, TA_MEANINGS), optional=True),
        "writing_ta": ComponentSpec("Writing teacher assessment", KS2_WRITING_TA, not_eligible=TA_NOT_ELIGIBLE,
                                    meanings=_meanings(KS2_WRITING_TA, TA_MEANINGS)),
        "science_ta": ComponentSpec("Science teacher assessment", SCIENCE_TA, not_eligible=TA_NOT_ELIGIBLE,
                                    meanings=_meanings(SCIENCE_TA, TA_MEANINGS)),
    },
    Assessment.KS1: {
        "reading_ta": ComponentSpec("Reading teacher assessment", KS1_TA, not_eligible=TA_NOT_ELIGIBLE,
                                    meanings=_meanings(KS1_TA, TA_MEANINGS)),
        "writing_ta": ComponentSpec("Writing teacher assessment", KS1_TA, not_eligible=TA_NOT_ELIGIBLE,
                                    meanings=_meanings(KS1_TA, TA_MEANINGS)),
        "maths_ta": ComponentSpec("Mathematics teacher assessment", KS1_TA, not_eligible=TA_NOT_ELIGIBLE,
                                    meanings=_meanings(KS1_TA, TA_MEANINGS)),
        "science_ta": ComponentSpec("Science teacher assessment", SCIENCE_TA, not_eligible=TA_NOT_ELIGIBLE,
                                    meanings=_meanings(SCIENCE_TA, TA_MEANINGS)),
    },
    Assessment.EYFS: {
        goal: ComponentSpec(f"Early Learning Goal {goal}", EYFS_CODES, not_eligible=frozenset({"A"}),
                            meanings=_meanings(EYFS_CODES, EYFS_MEANINGS))
        for goal in EYFS_GOALS
    },
    Assessment.PHONICS: {
        "year1": ComponentSpec("Phonics screening check (Year 1)", PHONICS_CODES, marks=(0, 40),
                               codes_with_mark=frozenset({"Wa", "Wt"}), not_eligible=frozenset({"L"}),
                               meanings=_meanings(PHONICS_CODES, PHONICS_MEANINGS)),
        "year2": ComponentSpec("Phonics screening check retake (Year 2)", PHONICS_CODES, marks=(0, 40),
                               codes_with_mark=frozenset({"Wa", "Wt"}), not_eligible=frozenset({"L"}),
                               meanings=_meanings(PHONICS_CODES, PHONICS_MEANINGS), taken_in=YearGroup.Y2,
                               optional=True),
    },
    Assessment.MTC: {
        "score": ComponentSpec("Multiplication tables check", MTC_CODES, marks=(0, 25), not_eligible=frozenset({"L"}),
                               meanings=_meanings(MTC_CODES, MTC_MEANINGS)),
    },
}
"""Every component of every statutory assessment and what it accepts."""

def taken_in(assessment: Assessment, component: str) -> YearGroup:
    """The year group that takes a component (the assessment's, or the component's own)."""
    return COMPONENTS[assessment][component].taken_in or ASSESSMENT_YEAR_GROUP[assessment]


StatutoryCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8)]


class StatutoryValue(BaseModel):
    """A component's value: a raw mark (phonics mark, MTC score, KS2 raw test mark), a KS2 scaled
    score, and/or a code. Which combinations are valid is `problems()`'s business."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mark: StrictInt | None = Field(default=None, description="Raw mark: phonics 0-40, MTC 0-25, KS2 test raw mark")
    scaled_score: StrictInt | None = Field(default=None, description="KS2 tests only: 80-120")
    code: StatutoryCode | None = Field(default=None, description="An outcome, TA or not-taken code of the component")


class StatutoryRecord(BaseModel):
    """One statutory result as the tracker sends it (an entry; it counts once locked). Structural
    checks here; `problems()` checks the value against the component's code table (ingest reports
    those per field together with the referential checks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pupil_id: Identifier
    school_id: Identifier
    academic_year: AcademicYear = Field(description="The year the assessment was taken (e.g. KS2 2025/26)")
    assessment: Assessment
    component: str = Field(examples=["reading_test", "writing_ta", "E01", "year1", "score"])
    mark: StrictInt | None = Field(default=None, description="Raw mark: phonics 0-40, MTC 0-25, KS2 test raw mark")
    scaled_score: StrictInt | None = Field(default=None, description="KS2 tests only: 80-120")
    code: StatutoryCode | None = Field(default=None, description="An outcome, TA or not-taken code of the component")
    assessed_on: AssessedOn = None

    _in_the_entrys_year = field_validator("assessed_on")(in_the_entrys_year)

    @property
    def value(self) -> StatutoryValue:
        return StatutoryValue(mark=self.mark, scaled_score=self.scaled_score, code=self.code)


class StatutoryLockScope(BaseModel):
    """Which statutory results a lock or unlock applies to (and what an entry sheet shows): one
    school's year, optionally narrowed to one assessment and a class."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    school_id: Identifier
    academic_year: AcademicYear
    assessment: Assessment | None = Field(default=None, description="Only results of this assessment")
    class_id: Identifier | None = Field(
        default=None, description="Only results of the pupils in this class in the academic year (a class of the "
        "school in that year: 422 otherwise)")


def problems(assessment: Assessment, component: str, value: StatutoryValue) -> list[tuple[str, str]]:
    """Every (field, reason) that makes a value invalid for a component; empty when valid."""
    spec = COMPONENTS[assessment].get(component)
    if spec is None:
        known = ", ".join(COMPONENTS[assessment])
        return [("component", f"unknown component {component!r} of {assessment.value}; expected one of {known}")]
    found: list[tuple[str, str]] = []
    if value.mark is None and value.scaled_score is None and value.code is None:
        found.append(("code", "a result needs a mark, a scaled score or a code"))
    if value.code is not None and value.code not in spec.codes:
        found.append(("code", f"unknown code {value.code!r} for {spec.label}; expected one of "
                      f"{', '.join(sorted(spec.codes))}"))
    if value.mark is not None:
        if spec.marks is None:
            found.append(("mark", f"{spec.label} takes no mark"))
        elif not spec.marks[0] <= value.mark <= spec.marks[1]:
            found.append(("mark", f"mark {value.mark} is outside {spec.marks[0]}..{spec.marks[1]} for {spec.label}"))
    if value.scaled_score is not None:
        if spec.scaled is None:
            found.append(("scaled_score", f"{spec.label} takes no scaled score"))
        elif not spec.scaled[0] <= value.scaled_score <= spec.scaled[1]:
            found.append(("scaled_score", f"scaled score {value.scaled_score} is outside "
                          f"{spec.scaled[0]}..{spec.scaled[1]}"))
    numeric = value.mark is not None or value.scaled_score is not None
    if numeric and value.code is not None and value.code in spec.codes and value.code not in spec.codes_with_mark:
        found.append(("code", f"code {value.code!r} means the pupil did not sit {spec.label}: it cannot come with "
                      "a mark or a scaled score"))
    if value.code == "N" and value.scaled_score is not None:
        found.append(("scaled_score", "code 'N' means no scaled score was awarded"))
    if assessment is Assessment.PHONICS and value.mark is not None and value.code in ("Wa", "Wt"):
        met = value.mark >= PHONICS_PASS_MARK
        if met != (value.code == "Wa"):
            found.append(("code", f"mark {value.mark} means {'Wa' if met else 'Wt'}, not {value.code} "
                          f"(the standard is {PHONICS_PASS_MARK})"))
    return found


def normalised(assessment: Assessment, component: str, value: StatutoryValue) -> StatutoryValue:
    """The value as stored: older code letters replaced by current ones (KS2 `T` -> `U`)."""
    spec = COMPONENTS[assessment][component]
    if spec.aliases and value.code in spec.aliases:
        return value.model_copy(update={"code": spec.aliases[value.code]})
    return value
