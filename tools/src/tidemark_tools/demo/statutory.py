"""Statutory results of the demo Trust: EYFS profile, phonics, KS1, MTC and KS2 (pure: no I/O).

Why: the statutory dashboards need the results a real Trust would hold for its pupils, at England's
rates (`reference/dfe-rules.md` sections 1-5 and 9), and they must agree with the summative
picture: a pupil judged BELOW all year should not sail through the KS2 tests.

Model: every outcome is drawn from the pupil's own persistent latent score of the summative
generator (ability, disadvantage, SEN, EAL in the early years, sex, the pupil-subject offset) plus
some noise of the day. Pupils are then ranked within each component, pooled over the window's
years, and their rank (a percentile) is read off a "ladder" of national shares: the bottom share
gets the lowest outcome, and so on up. So the rates match the national figures whatever the
Trust's mix, while gaps between groups come from the latent model, as in the summative figures.
Codes for pupils who did not sit (absent, just arrived, unable to access) are drawn at random and
do not move anyone's rank; "working below the test" (`B`) and disapplication (`D`) are the bottom
ranks. Pupils are assessed by the school they are on roll at on `ASSESSMENT_DAY`; results exist
only for years whose assessments are over at `today` (`RESULTS_FROM`).

Randomness comes from `Random`s of its own derived from the seed (`SEED_SALT`), so the summative
stream is untouched.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from random import Random
from statistics import NormalDist, fmean
from typing import Generic, Protocol, TypeVar

from tidemark_schemas.calendar import format_academic_year, parse_academic_year
from tidemark_schemas.records import PupilRecord
from tidemark_schemas.statutory import (
    COMPONENTS,
    MTC_FULL_MARKS,
    PHONICS_PASS_MARK,
    Assessment,
    StatutoryLockScope,
    StatutoryRecord,
)
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, GLD_GOALS, SenProvision, YearGroup

from tidemark_tools.demo.trust import DemoTrust

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

YEAR_GROUPS: tuple[YearGroup, ...] = tuple(YearGroup)

ASSESSMENT_DAY = (6, 15)
"""(month, day) Every statutory assessment happens in June; a pupil is assessed by the school they
are on roll at on this day."""
RESULTS_FROM = (7, 1)

HISTORY_YEARS = 6
"""Years before the window whose EYFS, phonics and KS1 results the window's pupils carry (a Year 6
pupil was in Reception six years earlier); only pupils on roll at the time have them."""
"""(month, day) A year's statutory results exist from 1 July of its summer (an earlier `today`
has none for the current year)."""

SEED_SALT = "statutory"
"""Each assessment draws from its own `Random(f"{seed}/{SEED_SALT}/{assessment}")` (a string seed
is hashed with SHA-512): neither the summative stream nor another assessment's moves when one
assessment's model changes."""

# ---------------------------------------------------------------------------------------------
# National shares (dfe-rules.md sections 1-5 and 9) and the noise of each assessment
# ---------------------------------------------------------------------------------------------

ELG_EXPECTED: Mapping[str, float] = dict(
    zip(
        EYFS_GOALS,
        (0.84, 0.84, 0.85, 0.87, 0.88, 0.92, 0.85, 0.80, 0.75, 0.71, 0.77, 0.78)  # E01..E12 (GLD)
        + (0.82, 0.82, 0.84, 0.86, 0.87),  # E13..E17
        strict=True,
    )
)
"""Share of children at expected (`2`) per Early Learning Goal: writing (E10) lowest ~71%, gross
motor (E06) highest ~92%; ~14.1 goals on average. The summative generator uses the same shares."""
P_EYFS_NOT_ASSESSED = 0.003
"""A rare `A` (not assessed): all 17 goals `A`."""
EYFS_NOISE_SD = 0.1
"""The goals move together (GLD ~68% while writing alone is ~71%)."""

PHONICS_MET_YEAR1 = 0.80
PHONICS_MET_RETAKE = 0.46
"""Share of Year 2 retakers who meet the standard: 80% in Year 1 -> ~89% by the end of Year 2."""
P_PHONICS_ABSENT = (0.006, 0.01)
"""(Year 1, retake) `A`: absent for the whole check period."""
PHONICS_DISAPPLIED = (0.012, 0.06)
"""(Year 1, retake) `D`: the bottom ranks do not take the check (share of the year group, of retakers)."""
PHONICS_NOISE_SD = 0.35
PHONICS_DISADVANTAGED_EFFECT = -0.15
PHONICS_SEN_EFFECT: Mapping[SenProvision, float] = {
    SenProvision.N: 0.0,
    SenProvision.K: -0.25,
    SenProvision.E: -0.25,
}
"""On top of the latent model: at an 80% pass rate the national gaps (disadvantaged 67% vs 84%,
SEN support ~51%, EHC plan ~20%) are wider than the latent model alone gives."""

KS1_TA_SHARES: Mapping[str, Mapping[str, float]] = {
    # Lowest first. EXS+ reading 71%, writing 62%, maths 71% (2024 optional estimates); GDS 18/8/16%.
    "reading_ta": {"EM": 0.008, "PK1": 0.004, "PK2": 0.006, "PK3": 0.01, "PK4": 0.014, "WTS": 0.248,
                   "EXS": 0.53, "GDS": 0.18},
    "writing_ta": {"EM": 0.008, "PK1": 0.005, "PK2": 0.007, "PK3": 0.011, "PK4": 0.016, "WTS": 0.333,
                   "EXS": 0.54, "GDS": 0.08},
    "maths_ta": {"EM": 0.008, "PK1": 0.004, "PK2": 0.006, "PK3": 0.009, "PK4": 0.013, "WTS": 0.25,
                 "EXS": 0.55, "GDS": 0.16},
    "science_ta": {"HNM": 0.21, "EXS": 0.79},  # 2023: 79%
}
P_TA_ABSENT = 0.005
"""TA `A`: absent for long periods or too recently arrived for a judgement (per pupil, every subject)."""
KS1_NOISE_SD = 0.2
KS1_HALO = 0.3
"""KS1 judgements move together (RWM ~57% while reading and maths are ~71%): each core subject's
score leans this much on the pupil's mean over the three."""

MTC_WORKING_BELOW = 0.03
"""`B`: the bottom ranks do not take the check (~3% nationally)."""
MTC_FULL_MARKS_SHARE = 0.374
"""Share of the ranked pupils scoring 25: ~37% of all eligible once the random non-takers are out."""
MTC_DECAY = 0.86
"""Below 25, each score is this much rarer than the one above: mean ~21.0 over takers."""
P_MTC_ABSENT = 0.008
P_UNABLE_IF_EHCP = 0.12
"""`U` (unable to access, even with arrangements) for pupils with an EHC plan not working below."""
P_JUST_ARRIVED_IF_NEW_EAL = 0.5
"""`J` for EAL pupils who joined the school during the academic year of the test."""
MTC_NOISE_SD = 0.4


@dataclass(frozen=True)
class KS2Test:
    """A KS2 test: its latent subject, the cohort's scaled-score distribution (non-takers sit in its
    bottom tail), the share working below it, and an illustrative raw -> scaled conversion."""

    subject: str
    mean: float
    sd: float
    working_below: float
    max_mark: int
    anchors: tuple[tuple[int, int], ...]
    """(raw mark, scaled score) points of the conversion, linear in between: 3 marks earn 80, the
    expected standard (100) and the higher standard (110) marks, and the first mark earning 120."""


KS2_TESTS: Mapping[str, KS2Test] = {
    # N(105, 8) / N(104.6, 7.6) over takers (dfe-rules 9.3) give ~73%; the whole cohort's mean is
    # nudged up ~0.5 so that, with ~4% not sitting, ~74-75% of all pupils reach 100.
    "reading_test": KS2Test("reading", 105.5, 8.0, 0.025, 50, ((3, 80), (28, 100), (40, 110), (48, 120))),
    "maths_test": KS2Test("maths", 105.0, 7.6, 0.025, 110, ((3, 80), (58, 100), (88, 110), (106, 120))),
    "gps_test": KS2Test("writing", 105.5, 8.5, 0.028, 70, ((3, 80), (35, 100), (53, 110), (66, 120))),
}
KS2_EXPECTED_SCORE = 100
KS2_HIGHER_SCORE = 110
P_KS2_ABSENT = 0.008
"""`A` on every test: absent for the test week."""
KS2_BELOW_TEST_TA: Mapping[str, float] = {
    "EM": 0.15, "PK1": 0.05, "PK2": 0.08, "PK3": 0.12, "PK4": 0.15, "PK5": 0.2, "PK6": 0.25,
}
"""Reading/maths TA of pupils working below the test (`B`), lowest first."""
KS2_TA_SHARES: Mapping[str, Mapping[str, float]] = {
    "writing_ta": {"EM": 0.012, "PK1": 0.004, "PK2": 0.006, "PK3": 0.009, "PK4": 0.012, "PK5": 0.015,
                   "PK6": 0.018, "WTS": 0.2, "EXS": 0.59, "GDS": 0.13},
    "science_ta": {"HNM": 0.18, "EXS": 0.82},
}
KS2_NOISE_SD = 0.3
"""Tests and TA alike."""
KS2_DEPTH_NOISE_SD = 0.6
"""Writing greater depth is a noisier judgement: RWM at the higher standard ~8%, not ~10%."""
TA_EXPECTED = frozenset({"EXS", "GDS"})
BELOW_STANDARD = frozenset({"EM"} | {f"PK{n}" for n in range(1, 7)})
"""Pupils on pre-key-stage standards or the engagement model get `HNM` in science."""

STATUTORY_NATIONAL_FIGURES: Mapping[str, float] = {
    "eyfs_gld": 68.3,
    "eyfs_all_goals": 66.9,
    "eyfs_average_goals": 14.1,
    "eyfs_writing": 71.0,
    "eyfs_gross_motor": 92.1,
    "phonics_y1": 80.0,
    "phonics_retake": 45.0,
    "phonics_by_end_y2": 89.0,
    "ks1_reading": 71.0,
    "ks1_writing": 62.1,
    "ks1_maths": 71.2,
    "ks1_rwm": 57.3,
    "mtc_mean": 21.0,
    "mtc_full_marks": 37.0,
    "mtc_not_taken": 4.0,
    "ks2_reading": 75.0,
    "ks2_maths": 74.0,
    "ks2_gps": 73.0,
    "ks2_writing": 72.0,
    "ks2_science": 82.0,
    "ks2_rwm": 62.0,
    "ks2_rwm_higher": 8.0,
    "ks2_reading_higher": 28.0,
    "ks2_maths_higher": 26.0,
    "ks2_writing_gds": 13.0,
    "ks2_rwm_disadvantaged_gap": 22.0,
    "phonics_y1_disadvantaged_gap": 17.0,
}
"""What `statutory_summary` should show (latest national year; KS1 the 2024 optional estimates)."""


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


class SimulatedPupil(Protocol):
    """What the statutory generator needs of a simulated pupil (the generator's `_Pupil`)."""

    @property
    def pupil_id(self) -> str: ...
    @property
    def school_id(self) -> str: ...
    @property
    def reception_year(self) -> int: ...
    @property
    def joined_on(self) -> date | None: ...
    @property
    def left_on(self) -> date | None: ...
    @property
    def sen(self) -> SenProvision: ...
    @property
    def eal(self) -> bool: ...
    @property
    def disadvantaged(self) -> bool: ...
    def latent(self, subject: str, year_group: YearGroup) -> float: ...


@dataclass(frozen=True)
class _Value:
    """One component's result: a code and/or a raw mark and a scaled score."""

    code: str | None
    mark: int | None = None
    scaled: int | None = None


@dataclass(frozen=True)
class _Ladder(Generic[T]):
    """Outcomes from the lowest up, each with its share of the ranked pupils."""

    rungs: tuple[T, ...]
    tops: tuple[float, ...]

    @classmethod
    def of(cls, shares: Iterable[tuple[T, float]]) -> _Ladder[T]:
        items = [(rung, share) for rung, share in shares if share > 0]
        total = sum(share for _, share in items)
        tops, running = [], 0.0
        for _, share in items:
            running += share / total
            tops.append(running)
        return cls(tuple(rung for rung, _ in items), tuple(tops))

    def at(self, percentile: float) -> T:
        return self.rungs[min(bisect_right(self.tops, percentile), len(self.rungs) - 1)]


def _geometric(values: Iterable[int], peak: int, ratio: float, share: float) -> list[tuple[int, float]]:
    """`share` spread over `values`, each `ratio` times as likely as its neighbour nearer `peak`."""
    values = list(values)
    weights = [ratio ** abs(peak - value) for value in values]
    total = sum(weights)
    return [(value, share * weight / total) for value, weight in zip(values, weights, strict=True)]


def _phonics_ladder(disapplied: float, met: float, peak_met: int, ratio_met: float) -> _Ladder[_Value]:
    """`D` at the bottom, then marks 0..31 (`Wt`, most just below the standard), then 32..40 (`Wa`)."""
    not_met = 1 - disapplied - met
    below = _geometric(range(PHONICS_PASS_MARK), PHONICS_PASS_MARK - 1, 0.88, not_met)
    above = _geometric(range(PHONICS_PASS_MARK, 41), peak_met, ratio_met, met)
    return _Ladder.of(
        [(_Value("D"), disapplied)]
        + [(_Value("Wt", mark), share) for mark, share in below]
        + [(_Value("Wa", mark), share) for mark, share in above]
    )


PHONICS_YEAR1 = _phonics_ladder(
    PHONICS_DISAPPLIED[0], PHONICS_MET_YEAR1 / (1 - P_PHONICS_ABSENT[0]), peak_met=40, ratio_met=0.85
)
"""Left-skewed: ~80% at 32+, the mode at 40, most of the mass at 36-40."""
PHONICS_RETAKE = _phonics_ladder(
    PHONICS_DISAPPLIED[1],
    PHONICS_MET_RETAKE / (1 - P_PHONICS_ABSENT[1]),
    peak_met=PHONICS_PASS_MARK,
    ratio_met=0.8,
)
"""Retakers who meet the standard mostly just do."""
MTC_LADDER: _Ladder[_Value] = _Ladder.of(
    [(_Value("B"), MTC_WORKING_BELOW)]
    + [
        (_Value(None, score), share)
        for score, share in _geometric(
            range(MTC_FULL_MARKS), MTC_FULL_MARKS - 1, MTC_DECAY, 1 - MTC_WORKING_BELOW - MTC_FULL_MARKS_SHARE
        )
    ]
    + [(_Value(None, MTC_FULL_MARKS), MTC_FULL_MARKS_SHARE)]
)
"""`B` at the bottom, then 0..24 ever more common towards 24, then 25 (the mode)."""
KS2_BELOW_TEST_LADDER: _Ladder[str] = _Ladder.of(KS2_BELOW_TEST_TA.items())


@dataclass
class _Sitting:
    """One pupil's statutory results of one academic year."""

    pupil: SimulatedPupil
    start_year: int
    values: dict[tuple[Assessment, str], _Value] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int]:
        return self.pupil.pupil_id, self.start_year


def generate_statutory(
    seed: int, pupils: Sequence[SimulatedPupil], years: Sequence[int], today: date
) -> tuple[list[StatutoryRecord], list[StatutoryLockScope]]:
    """Every statutory result of the window's years (start years, oldest first) already taken at
    `today`, for the pupils on roll on the assessment day, and one lock per school and year; and
    the EYFS profiles, phonics checks and KS1 assessments the pupils of the window took in the
    years before it (`HISTORY_YEARS`): a Year 6 pupil's progress is measured from their KS1."""

    def rng(assessment: Assessment) -> Random:
        return Random(f"{seed}/{SEED_SALT}/{assessment.value}")

    sittings: dict[tuple[str, int], _Sitting] = {}

    with_history = [*range(years[0] - HISTORY_YEARS, years[0]), *years]

    def cohort(year_group: YearGroup, span: Sequence[int] = years) -> list[_Sitting]:
        found = []
        for year in span:
            for pupil in pupils:
                if _sits(pupil, year, year_group):
                    sitting = sittings.setdefault((pupil.pupil_id, year), _Sitting(pupil, year))
                    found.append(sitting)
        return found

    _eyfs(rng(Assessment.EYFS), cohort(YearGroup.R, with_history))
    _phonics(rng(Assessment.PHONICS), pupils, with_history, cohort(YearGroup.Y1, with_history),
             cohort(YearGroup.Y2, with_history))
    _teacher_assessments(
        rng(Assessment.KS1), cohort(YearGroup.Y2, with_history), Assessment.KS1, YearGroup.Y2, KS1_TA_SHARES,
        KS1_NOISE_SD, halo=KS1_HALO,
    )
    _mtc(rng(Assessment.MTC), cohort(YearGroup.Y4))
    _ks2(rng(Assessment.KS2), cohort(YearGroup.Y6))

    records = [
        record
        for sitting in sittings.values()
        if sitting.values and results_due(sitting.start_year, today)
        for record in _records(sitting)
    ]
    records.sort(key=_record_order)
    scopes = sorted({(r.academic_year, r.school_id) for r in records})
    locks = [StatutoryLockScope(school_id=school_id, academic_year=year) for year, school_id in scopes]
    return records, locks


def results_due(start_year: int, today: date) -> bool:
    """Whether the statutory assessments of the academic year starting in `start_year` have
    happened (and been returned) at `today`."""
    return today >= date(start_year + 1, *RESULTS_FROM)


def _sits(pupil: SimulatedPupil, start_year: int, year_group: YearGroup) -> bool:
    """In `year_group` that year and on roll at the school on the assessment day."""
    if start_year - pupil.reception_year != YEAR_GROUPS.index(year_group):
        return False
    day = date(start_year + 1, *ASSESSMENT_DAY)
    joined = pupil.joined_on is None or pupil.joined_on <= day
    return joined and (pupil.left_on is None or pupil.left_on >= day)


def _percentiles(scores: Mapping[K, float]) -> dict[K, float]:
    """Each key's rank as a share in (0, 1), lowest score first."""
    ordered = sorted(scores, key=scores.__getitem__)
    return {key: (rank + 0.5) / len(ordered) for rank, key in enumerate(ordered)}


def _scores(
    rng: Random, cohort: Iterable[_Sitting], subject: str, year_group: YearGroup, noise_sd: float
) -> dict[tuple[str, int], float]:
    """The latent score of the summative generator plus the noise of the day."""
    return {s.key: s.pupil.latent(subject, year_group) + rng.gauss(0.0, noise_sd) for s in cohort}


def _eyfs(rng: Random, cohort: Sequence[_Sitting]) -> None:
    assessed = []
    for sitting in cohort:
        if rng.random() < P_EYFS_NOT_ASSESSED:
            sitting.values |= {(Assessment.EYFS, goal): _Value("A") for goal in EYFS_GOALS}
        else:
            assessed.append(sitting)
    for goal in EYFS_GOALS:
        ranks = _percentiles(_scores(rng, assessed, goal, YearGroup.R, EYFS_NOISE_SD))
        for sitting in assessed:
            met = ranks[sitting.key] >= 1 - ELG_EXPECTED[goal]
            sitting.values[(Assessment.EYFS, goal)] = _Value("2" if met else "1")


def _phonics(
    rng: Random,
    pupils: Sequence[SimulatedPupil],
    years: Sequence[int],
    year1: Sequence[_Sitting],
    year2: Sequence[_Sitting],
) -> None:
    """Year 1 checks, then the Year 2 retake of those who did not meet the standard or did not sit.

    A Year 2 pupil's Year 1 result may predate the window (or the school), so a Year 1 result is
    drawn for everyone in Year 1 the year before the window or during it, on roll or not: the
    ranks then cover whole cohorts, and only the sittings on roll are recorded."""
    first_year1 = years[0] - 1
    cohorts = [
        _Sitting(p, year) for year in range(first_year1, years[-1] + 1) for p in pupils
        if year - p.reception_year == YEAR_GROUPS.index(YearGroup.Y1)
    ]
    firsts = _checks(rng, cohorts, YearGroup.Y1, P_PHONICS_ABSENT[0], PHONICS_YEAR1)
    for sitting in year1:
        sitting.values[(Assessment.PHONICS, "year1")] = firsts[sitting.key]
    retakers = [s for s in year2 if firsts[(s.pupil.pupil_id, s.start_year - 1)].code != "Wa"]
    retakes = _checks(rng, retakers, YearGroup.Y2, P_PHONICS_ABSENT[1], PHONICS_RETAKE)
    for sitting in retakers:
        sitting.values[(Assessment.PHONICS, "year2")] = retakes[sitting.key]


def _checks(
    rng: Random, cohort: Sequence[_Sitting], year_group: YearGroup, p_absent: float, ladder: _Ladder[_Value]
) -> dict[tuple[str, int], _Value]:
    """Phonics results from the reading latent: `A` at random, the others by rank."""
    scores = _scores(rng, cohort, "reading", year_group, PHONICS_NOISE_SD)
    for sitting in cohort:
        pupil = sitting.pupil
        scores[sitting.key] += PHONICS_SEN_EFFECT[pupil.sen]
        if pupil.disadvantaged:
            scores[sitting.key] += PHONICS_DISADVANTAGED_EFFECT
    ranks = _percentiles(scores)
    return {
        s.key: _Value("A") if rng.random() < p_absent else ladder.at(ranks[s.key]) for s in cohort
    }


def _teacher_assessments(
    rng: Random,
    cohort: Sequence[_Sitting],
    assessment: Assessment,
    year_group: YearGroup,
    shares: Mapping[str, Mapping[str, float]],
    noise_sd: float,
    halo: float = 0.0,
    depth_noise_sd: float = 0.0,
) -> None:
    """A TA per component from the ranks (science last); `A` for a few pupils, in every subject.

    With a `halo`, a core subject's score leans that much on the pupil's mean over the three.
    With a `depth_noise_sd`, which of the pupils at EXS+ are at greater depth is decided on a
    noisier score (as many GDS as before): greater depth agrees less with the other subjects.
    Pupils on pre-key-stage standards or the engagement model in any subject rank lowest in
    science, so they get `HNM` while the share at EXS stays national."""
    absent = {s.key for s in cohort if rng.random() < P_TA_ABSENT}
    judged = [s for s in cohort if s.key not in absent]
    core = {s.key: fmean(s.pupil.latent(c, year_group) for c in CORE_SUBJECTS) for s in judged if halo}
    for component, component_shares in shares.items():
        ladder = _Ladder.of(component_shares.items())
        subject = component.removesuffix("_ta")
        scores = _scores(rng, judged, subject, year_group, noise_sd)
        if subject in CORE_SUBJECTS and halo:
            scores = {key: (1 - halo) * score + halo * core[key] for key, score in scores.items()}
        if component == "science_ta":
            scores |= {s.key: -math.inf for s in judged if _below_standard(s, assessment)}
        ranks = _percentiles(scores)
        codes = {s.key: "A" if s.key in absent else ladder.at(ranks[s.key]) for s in cohort}
        codes |= {key: "HNM" for key, score in scores.items() if score == -math.inf}  # however many
        if depth_noise_sd and "GDS" in component_shares:
            _redraw_greater_depth(rng, codes, scores, depth_noise_sd)
        for sitting in cohort:
            sitting.values[(assessment, component)] = _Value(codes[sitting.key])


def _redraw_greater_depth(
    rng: Random, codes: dict[tuple[str, int], str], scores: Mapping[tuple[str, int], float], noise_sd: float
) -> None:
    """Among the pupils at EXS or GDS, the same number at GDS, chosen on a noisier score."""
    expected = [key for key, code in codes.items() if code in TA_EXPECTED]
    depth = sum(1 for key in expected if codes[key] == "GDS")
    noisy = {key: scores[key] + rng.gauss(0.0, noise_sd) for key in expected}
    ranked = sorted(expected, key=noisy.__getitem__, reverse=True)
    codes |= {key: "GDS" if rank < depth else "EXS" for rank, key in enumerate(ranked)}


def _below_standard(sitting: _Sitting, assessment: Assessment) -> bool:
    return any(a is assessment and v.code in BELOW_STANDARD for (a, _), v in sitting.values.items())


def _not_sitting_code(rng: Random, sitting: _Sitting, p_absent: float) -> str | None:
    """`J` just arrived (EAL, joined this year), `U` unable to access (EHC plan), `A` absent, or None."""
    pupil = sitting.pupil
    arrived = pupil.joined_on is not None and pupil.joined_on >= date(sitting.start_year, 9, 1)
    if arrived and pupil.eal and rng.random() < P_JUST_ARRIVED_IF_NEW_EAL:
        return "J"
    if pupil.sen is SenProvision.E and rng.random() < P_UNABLE_IF_EHCP:
        return "U"
    return "A" if rng.random() < p_absent else None


def _mtc(rng: Random, cohort: Sequence[_Sitting]) -> None:
    """Working below (`B`) by rank; `J`/`U`/`A` at random; the others score by rank."""
    ranks = _percentiles(_scores(rng, cohort, "maths", YearGroup.Y4, MTC_NOISE_SD))
    for sitting in cohort:
        value = MTC_LADDER.at(ranks[sitting.key])
        code = _not_sitting_code(rng, sitting, P_MTC_ABSENT)
        if code is not None and value.code != "B":  # working below takes precedence
            value = _Value(code)
        sitting.values[(Assessment.MTC, "score")] = value


def _ks2(rng: Random, cohort: Sequence[_Sitting]) -> None:
    """Tests: `B` (with a reading/maths TA) for the bottom ranks of the teachers' view, `J`/`U`/`A`
    at random (every test), else a raw mark and scaled score from the rank on the day (the two
    views differ a little, so a few takers score in the 80s); then writing and science TA."""
    codes = {s.key: _not_sitting_code(rng, s, P_KS2_ABSENT) for s in cohort}
    normal = NormalDist()
    for component, test in KS2_TESTS.items():
        teachers = _percentiles(_scores(rng, cohort, test.subject, YearGroup.Y6, KS2_NOISE_SD))
        ranks = _percentiles(_scores(rng, cohort, test.subject, YearGroup.Y6, KS2_NOISE_SD))
        for sitting in cohort:
            rank = ranks[sitting.key]
            if (below := teachers[sitting.key]) < test.working_below:
                sitting.values[(Assessment.KS2, component)] = _Value("B")
                if component != "gps_test":
                    ta = KS2_BELOW_TEST_LADDER.at(below / test.working_below)
                    sitting.values[(Assessment.KS2, f"{test.subject}_ta")] = _Value(ta)
            elif (code := codes[sitting.key]) is not None:
                sitting.values[(Assessment.KS2, component)] = _Value(code)
            else:
                mark = _raw_mark(test, test.mean + test.sd * normal.inv_cdf(rank))
                scaled = _scaled_score(test, mark)
                code = "N" if scaled is None else None  # sat, too few marks for a scaled score
                sitting.values[(Assessment.KS2, component)] = _Value(code, mark, scaled)
    _teacher_assessments(
        rng, cohort, Assessment.KS2, YearGroup.Y6, KS2_TA_SHARES, KS2_NOISE_SD,
        depth_noise_sd=KS2_DEPTH_NOISE_SD,
    )


def _scaled_score(test: KS2Test, mark: int) -> int | None:
    """The conversion: none below the first anchor (code `N`), 120 from the last anchor up."""
    anchors = test.anchors
    if mark < anchors[0][0]:
        return None
    for (raw_low, low), (raw_high, high) in zip(anchors, anchors[1:]):
        if mark <= raw_high:
            return math.floor(low + (high - low) * (mark - raw_low) / (raw_high - raw_low) + 1e-9)
    return anchors[-1][1]


def _raw_mark(test: KS2Test, score: float) -> int:
    """The raw mark whose converted scaled score is `score` rounded down: the inverse of the
    conversion's lines, extended beyond its ends, floored and kept within the paper's marks."""
    anchors = test.anchors
    pairs = list(zip(anchors, anchors[1:]))
    (raw_low, low), (raw_high, high) = next((pair for pair in pairs if score < pair[1][1]), pairs[-1])
    raw = raw_low + (score - low) * (raw_high - raw_low) / (high - low)
    return max(0, min(test.max_mark, math.floor(raw + 1e-9)))


_ASSESSMENT_ORDER = {assessment: index for index, assessment in enumerate(Assessment)}
_COMPONENT_ORDER = {
    (assessment, component): index
    for assessment, components in COMPONENTS.items()
    for index, component in enumerate(components)
}


def _record_order(record: StatutoryRecord) -> tuple[str, str, int, str, int]:
    """By year, school, assessment, pupil and component (the order of the code tables)."""
    return (
        record.academic_year,
        record.school_id,
        _ASSESSMENT_ORDER[record.assessment],
        record.pupil_id,
        _COMPONENT_ORDER[(record.assessment, record.component)],
    )


def _records(sitting: _Sitting) -> list[StatutoryRecord]:
    pupil, year = sitting.pupil, format_academic_year(sitting.start_year)
    return [
        StatutoryRecord(
            pupil_id=pupil.pupil_id,
            school_id=pupil.school_id,
            academic_year=year,
            assessment=assessment,
            component=component,
            mark=value.mark,
            scaled_score=value.scaled,
            code=value.code,
        )
        for (assessment, component), value in sitting.values.items()
    ]


# ---------------------------------------------------------------------------------------------
# National summary
# ---------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Sums and counts per measure: a mean, or a % when the values are hits (True/False)."""

    sums: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, measure: str, value: float, *groups: str) -> None:
        for name in (measure, *(f"{measure}|{group}" for group in groups)):
            self.sums[name] += value
            self.counts[name] += 1

    def mean(self, measure: str) -> float | None:
        count = self.counts.get(measure, 0)
        return self.sums[measure] / count if count else None

    def percent(self, measure: str) -> float | None:
        mean = self.mean(measure)
        return None if mean is None else 100.0 * mean

    def gap(self, measure: str, ahead: str, behind: str, scale: float = 100.0) -> float | None:
        first, second = self.mean(f"{measure}|{ahead}"), self.mean(f"{measure}|{behind}")
        return None if first is None or second is None else scale * (first - second)


Components = Mapping[str, StatutoryRecord]


def _groups(pupil: PupilRecord) -> tuple[str, ...]:
    return (
        f"disadvantaged={pupil.disadvantaged}",
        f"sex={pupil.sex}",
        f"sen={pupil.sen}",
        f"eal={pupil.eal}",
    )


def _eligible(record: StatutoryRecord | None) -> bool:
    if record is None:
        return False
    spec = COMPONENTS[record.assessment][record.component]
    return record.code not in spec.not_eligible


def statutory_summary(trust: DemoTrust, academic_year: str | None = None) -> dict[str, float]:
    """National-style statutory figures computed from the generated records of one academic year
    (None: every year with results, pooled), to compare with `STATUTORY_NATIONAL_FIGURES`.

    % of eligible pupils unless said otherwise: eyfs_* over children with a profile (`A` left
    out), eyfs_average_goals a count; phonics_y1 / phonics_retake met, phonics_by_end_y2 met in
    Year 1 or at the retake (Year 1 results of the year before, pupils still on roll, plus the
    retakers); ks1_* EXS+ and *_gds; mtc_mean over takers, mtc_full_marks and mtc_not_taken over
    eligible pupils; ks2_* expected (tests 100+, TA EXS+), *_higher 110+, *_average mean scaled
    score of those awarded one, ks2_rwm(_higher) all three; *_not_taken / *_not_sat a code instead
    of a mark. *_gap: the other pupils' figure minus the group's (disadvantaged, SEN support, EAL),
    girls minus boys (gender), in points; phonics_y1_sen_support / _ehc_plan the group's own
    figure. A measure with no pupil is left out (no data is never 0%).
    """
    pupils = {p.pupil_id: p for p in trust.pupils}
    sheets: dict[tuple[str, str, Assessment], dict[str, StatutoryRecord]] = defaultdict(dict)
    for record in trust.statutory:
        sheets[(record.pupil_id, record.academic_year, record.assessment)][record.component] = record
    tally = _Tally()
    for (pupil_id, year, assessment), components in sheets.items():
        if academic_year is None or year == academic_year:
            _TALLIES[assessment](tally, pupils[pupil_id], components)
    _tally_phonics_by_end_of_year2(tally, pupils, sheets, academic_year)

    summary: dict[str, float | None] = {
        name: tally.percent(name) for name in tally.counts if "|" not in name and not name.startswith("_")
    }
    summary |= {name: tally.mean(name) for name in _MEANS}
    goals = {goal: tally.percent(f"_eyfs_{goal}") for goal in EYFS_GOALS}
    known = [share for share in goals.values() if share is not None]
    summary |= {
        "eyfs_writing": goals["E10"],
        "eyfs_gross_motor": goals["E06"],
        "eyfs_goal_lowest": min(known, default=None),
        "eyfs_goal_highest": max(known, default=None),
        "eyfs_gld_disadvantaged_gap": tally.gap("eyfs_gld", "disadvantaged=False", "disadvantaged=True"),
        "eyfs_gld_eal_gap": tally.gap("eyfs_gld", "eal=False", "eal=True"),
        "phonics_y1_disadvantaged_gap": tally.gap("phonics_y1", "disadvantaged=False", "disadvantaged=True"),
        "phonics_y1_sen_support": tally.percent(f"phonics_y1|sen={SenProvision.K}"),
        "phonics_y1_ehc_plan": tally.percent(f"phonics_y1|sen={SenProvision.E}"),
        "phonics_y1_gender_gap": tally.gap("phonics_y1", "sex=F", "sex=M"),
        "mtc_mean_disadvantaged_gap": tally.gap("mtc_mean", "disadvantaged=False", "disadvantaged=True", 1.0),
        "ks2_rwm_disadvantaged_gap": tally.gap("ks2_rwm", "disadvantaged=False", "disadvantaged=True"),
        "ks2_rwm_gender_gap": tally.gap("ks2_rwm", "sex=F", "sex=M"),
        "ks2_rwm_sen_gap": tally.gap("ks2_rwm", f"sen={SenProvision.N}", f"sen={SenProvision.K}"),
        "ks2_rwm_eal_gap": tally.gap("ks2_rwm", "eal=False", "eal=True"),
    }
    return {name: value for name, value in sorted(summary.items()) if value is not None}


_MEANS = ("eyfs_average_goals", "mtc_mean", "ks2_reading_average", "ks2_maths_average", "ks2_gps_average")
"""Measures reported as means, not %."""


def _tally_eyfs(tally: _Tally, pupil: PupilRecord, goals: Components) -> None:
    assessed = all(r.code != "A" for r in goals.values())
    tally.add("eyfs_not_assessed", not assessed)
    if not assessed:
        return
    expected = {goal for goal, r in goals.items() if r.code == "2"}
    groups = _groups(pupil)
    tally.add("eyfs_gld", expected >= set(GLD_GOALS), *groups)
    tally.add("eyfs_all_goals", expected >= set(EYFS_GOALS), *groups)
    tally.add("eyfs_average_goals", len(expected), *groups)
    for goal in EYFS_GOALS:
        tally.add(f"_eyfs_{goal}", goal in expected)


def _tally_phonics(tally: _Tally, pupil: PupilRecord, checks: Components) -> None:
    groups = _groups(pupil)
    first, retake = checks.get("year1"), checks.get("year2")
    if first is not None and _eligible(first):
        tally.add("phonics_y1", first.code == "Wa", *groups)
        tally.add("phonics_y1_not_taken", first.mark is None)
        if first.mark is not None:
            tally.add("phonics_y1_marks_36_to_40", first.mark >= 36)
    if retake is not None and _eligible(retake):
        tally.add("phonics_retake", retake.code == "Wa", *groups)


def _tally_phonics_by_end_of_year2(
    tally: _Tally,
    pupils: Mapping[str, PupilRecord],
    sheets: Mapping[tuple[str, str, Assessment], Mapping[str, StatutoryRecord]],
    academic_year: str | None,
) -> None:
    """DfE's 2024 method: Year 2 pupils with a valid Year 1 result last year or a retake this year."""
    years = {year for (_, year, _) in sheets}
    for (pupil_id, year, assessment), checks in sheets.items():
        if assessment is not Assessment.PHONICS or (academic_year is not None and year != academic_year):
            continue
        previous = format_academic_year(parse_academic_year(year) - 1)
        if previous not in years:
            continue  # no Year 1 results of the year before: the measure cannot be formed
        retake = checks.get("year2")
        if retake is not None and _eligible(retake):
            first = sheets.get((pupil_id, previous, Assessment.PHONICS), {}).get("year1")
            tally.add("phonics_by_end_y2", retake.code == "Wa" or (first is not None and first.code == "Wa"))
    for (pupil_id, year, assessment), checks in sheets.items():
        first = checks.get("year1")
        if assessment is not Assessment.PHONICS or first is None or first.code != "Wa":
            continue
        following = format_academic_year(parse_academic_year(year) + 1)
        if following not in years or (academic_year is not None and following != academic_year):
            continue
        left_on = pupils[pupil_id].left_on
        if left_on is None or left_on >= date(parse_academic_year(following) + 1, *ASSESSMENT_DAY):
            tally.add("phonics_by_end_y2", True)  # met in Year 1, still on roll in Year 2: no retake


def _tally_ks1(tally: _Tally, pupil: PupilRecord, tas: Components) -> None:
    core = [tas.get(f"{subject}_ta") for subject in CORE_SUBJECTS]
    for subject, record in zip(CORE_SUBJECTS, core, strict=True):
        if record is not None and _eligible(record):
            tally.add(f"ks1_{subject}", record.code in TA_EXPECTED)
            tally.add(f"ks1_{subject}_gds", record.code == "GDS")
    if all(_eligible(record) for record in core):
        tally.add("ks1_rwm", all(record.code in TA_EXPECTED for record in core if record is not None))
    science = tas.get("science_ta")
    if science is not None and _eligible(science):
        tally.add("ks1_science", science.code == "EXS")


def _tally_mtc(tally: _Tally, pupil: PupilRecord, check: Components) -> None:
    record = check.get("score")
    if record is None or not _eligible(record):
        return
    tally.add("mtc_not_taken", record.mark is None)
    tally.add("mtc_full_marks", record.mark == MTC_FULL_MARKS)
    if record.mark is not None:
        tally.add("mtc_mean", record.mark, *_groups(pupil))


def _tally_ks2(tally: _Tally, pupil: PupilRecord, results: Components) -> None:
    expected: dict[str, bool] = {}
    higher: dict[str, bool] = {}
    for component in KS2_TESTS:
        record = results.get(component)
        if record is None or not _eligible(record):
            continue
        subject = component.removesuffix("_test")
        score = record.scaled_score
        expected[subject] = score is not None and score >= KS2_EXPECTED_SCORE
        higher[subject] = score is not None and score >= KS2_HIGHER_SCORE
        tally.add(f"ks2_{subject}", expected[subject])
        tally.add(f"ks2_{subject}_higher", higher[subject])
        tally.add(f"ks2_{subject}_not_sat", record.mark is None)
        if score is not None:
            tally.add(f"ks2_{subject}_average", score)
    writing = results.get("writing_ta")
    if writing is not None and _eligible(writing):
        expected["writing"] = writing.code in TA_EXPECTED
        higher["writing"] = writing.code == "GDS"
        tally.add("ks2_writing", expected["writing"])
        tally.add("ks2_writing_gds", higher["writing"])
    science = results.get("science_ta")
    if science is not None and _eligible(science):
        tally.add("ks2_science", science.code == "EXS")
    if all(subject in expected for subject in CORE_SUBJECTS):
        groups = _groups(pupil)
        tally.add("ks2_rwm", all(expected[s] for s in CORE_SUBJECTS), *groups)
        tally.add("ks2_rwm_higher", all(higher[s] for s in CORE_SUBJECTS))


_TALLIES: Mapping[Assessment, Callable[[_Tally, PupilRecord, Components], None]] = {
    Assessment.EYFS: _tally_eyfs,
    Assessment.PHONICS: _tally_phonics,
    Assessment.KS1: _tally_ks1,
    Assessment.MTC: _tally_mtc,
    Assessment.KS2: _tally_ks2,
}
