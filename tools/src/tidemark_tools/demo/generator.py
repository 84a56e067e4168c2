"""A reproducible synthetic Trust whose figures look like England's (pure: no I/O, no network).

Why: demos, load tests and the dashboards' visual checks need a Trust that behaves like a real
one - cohorts that move up each September, leavers and joiners, a current period still being
entered, and attainment, gaps and characteristics near the DfE national figures
(`reference/dfe-rules.md` sections 6 and 9). Everything is drawn from one `random.Random(seed)`,
so the same seed and `today` give the same Trust. The statutory results (EYFS profile, phonics,
KS1, MTC, KS2) come from the same pupils' latent scores in `demo.statutory`, with their own
`Random` derived from the seed, so adding them left the summative figures untouched.

Attainment model: each pupil has a persistent latent ability (shifted by disadvantage, SEN, EAL
in the early years and a small school effect); each subject adds a persistent pupil-subject
offset (so subjects correlate), a sex effect and per-period noise that persists a little from one
period to the next. Teachers are more cautious in autumn. Band cut-offs are calibrated on the
generated pupils themselves so that, at SUM2, the shares AT+ and ABOVE match the national targets.
"""

from __future__ import annotations

import gc
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.calendar import (
    HALF_TERMS,
    PeriodCalendar,
    PeriodRef,
    academic_year_of,
    academic_years_up_to,
    format_academic_year,
    parse_academic_year,
)
from tidemark_schemas.ethnicity import CENSUS_ETHNICITY
from tidemark_schemas.records import AssessmentRecord, ClassRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.rules import (
    at_or_above, combined_gld, combined_rwm, is_disadvantaged, on_roll_during, percentage,
)
from tidemark_schemas.vocabulary import CORE_SUBJECTS, EYFS_GOALS, Band, SenProvision, Sex, YearGroup

from tidemark_tools.demo.statutory import ELG_EXPECTED, generate_statutory
from tidemark_tools.demo.trust import DemoTrust

YEAR_GROUPS: tuple[YearGroup, ...] = tuple(YearGroup)
"""R, Y1 .. Y6: the index is the number of Septembers since the pupil started Reception."""

PRIMARY_SUBJECTS_SENT: tuple[str, ...] = CORE_SUBJECTS + ("science",)
"""What the demo tracker sends for Years 1-6 every period."""


DEFAULT_ROLL_PER_SCHOOL = 4000 / 12
"""Twelve 1- to 2-form-entry primaries make a Trust of about 4,000 pupils."""

YEAR6_LEAVING = (7, 20)
"""(month, day) Year 6 leave at the end of the summer term."""

# ---------------------------------------------------------------------------------------------
# Pupil characteristics: England primary proportions (dfe-rules.md section 6; census 2023/24).
# ---------------------------------------------------------------------------------------------

P_MALE = 0.51
P_FSM6 = 0.25
P_LAC = 0.005
P_PLAC = 0.005
P_SEN_K: Mapping[Sex, float] = {Sex.M: 0.18, Sex.F: 0.10}
"""About 14% SEN support overall; boys are about twice as likely to be identified."""
P_SEN_E: Mapping[Sex, float] = {Sex.M: 0.038, Sex.F: 0.016}
"""About 2.7% with an EHC plan."""
SEN_DISADVANTAGED_RATIO = 1.4
"""Disadvantaged pupils are more often on the SEN register (the Trust-wide share is unchanged)."""

ETHNICITY_SHARE: Mapping[str, float] = {
    "WBRI": 63.4,
    "WIRI": 0.3,
    "WIRT": 0.1,
    "WROM": 0.6,
    "WOTH": 6.2,
    "MWBC": 1.5,
    "MWBA": 0.8,
    "MWAS": 1.8,
    "MOTH": 2.5,
    "AIND": 3.8,
    "APKN": 4.8,
    "ABAN": 2.0,
    "AOTH": 1.8,
    "BCRB": 0.9,
    "BAFR": 4.2,
    "BOTH": 1.0,
    "CHNE": 0.5,
    "OOTH": 2.3,
    "REFU": 0.7,
    "NOBT": 0.8,
}
"""% of England primary pupils by census code (sums to 100)."""
ETHNICITY_CODES: tuple[str, ...] = tuple(ETHNICITY_SHARE)

P_EAL_BY_ETHNICITY: Mapping[str, float] = {
    "WBRI": 0.005,
    "WIRI": 0.05,
    "WIRT": 0.05,
    "WROM": 0.8,
    "WOTH": 0.75,
    "MWBC": 0.05,
    "MWBA": 0.15,
    "MWAS": 0.2,
    "MOTH": 0.2,
    "AIND": 0.7,
    "APKN": 0.75,
    "ABAN": 0.85,
    "AOTH": 0.8,
    "BCRB": 0.05,
    "BAFR": 0.65,
    "BOTH": 0.55,
    "CHNE": 0.7,
    "OOTH": 0.85,
    "REFU": 0.3,
    "NOBT": 0.3,
}
"""First language other than English follows ethnicity; overall about 22%."""

if set(ETHNICITY_SHARE) != set(CENSUS_ETHNICITY) or set(P_EAL_BY_ETHNICITY) != set(CENSUS_ETHNICITY):
    raise RuntimeError("the demo ethnicity tables must cover exactly the census codes of tidemark_schemas")

P_LEAVE_MID_YEAR = 0.015
P_JOIN_MID_YEAR = 0.015
MID_YEAR_MOVES = ((10, 1), (7, 10))
"""(month, day) range in which mid-year leavers leave and joiners join."""

# ---------------------------------------------------------------------------------------------
# Attainment: national targets at SUM2 (dfe-rules.md section 9) and the latent model.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Share of pupils AT or ABOVE, and ABOVE, at the end of the year (SUM2)."""

    at_or_above: float
    above: float


PRIMARY_TARGETS: Mapping[str, Target] = {
    "reading": Target(0.75, 0.25),
    "writing": Target(0.72, 0.13),
    "maths": Target(0.74, 0.25),
    "science": Target(0.82, 0.15),
}
EYFS_TARGETS: Mapping[str, Target] = {
    goal: Target(ELG_EXPECTED[goal], 0.0)  # the 2021 profile has no "exceeding": emerging or expected only
    for goal in EYFS_GOALS
}
"""Per-goal % expected (the statutory profile's national shares): writing (E10) lowest ~71%, gross
motor (E06) highest ~92%; mean ~14.1 goals."""

NATIONAL_FIGURES: Mapping[str, float] = {
    "y6_reading": 75.0,
    "y6_writing": 72.0,
    "y6_maths": 74.0,
    "y6_rwm": 61.0,
    "y6_reading_above": 25.0,
    "y6_writing_above": 13.0,
    "y6_maths_above": 25.0,
    "y6_rwm_above": 8.0,
    "rwm_disadvantaged_gap": 20.0,
    "rwm_gender_gap": 6.0,
    "gld": 68.0,
    "eyfs_goal_lowest": 71.0,
    "eyfs_goal_highest": 92.0,
}
"""What `national_summary` should show at SUM2 (KS2 2024/25, EYFS 2024/25; rounded)."""

DISADVANTAGED_EFFECT = -0.5
SEN_EFFECT: Mapping[SenProvision, float] = {SenProvision.N: 0.0, SenProvision.K: -1.0, SenProvision.E: -1.9}
EAL_EFFECT: Mapping[YearGroup, float] = {YearGroup.R: -0.3, YearGroup.Y1: -0.2, YearGroup.Y2: -0.1}
"""EAL pupils start a little behind and catch up by Key Stage 2."""
FEMALE_EFFECT: Mapping[str, float] = {"reading": 0.12, "writing": 0.25, "maths": -0.06, "science": 0.0}
FEMALE_EYFS_EFFECT = 0.35
SCHOOL_EFFECT_SD = 0.12


@dataclass(frozen=True)
class Spread:
    """Latent spreads of one phase: pupil-subject offset, per-period noise, autumn caution."""

    subject_sd: float
    noise_sd: float
    autumn_caution: float


PRIMARY_SPREAD = Spread(subject_sd=0.45, noise_sd=0.3, autumn_caution=0.25)
EYFS_SPREAD = Spread(subject_sd=0.2, noise_sd=0.1, autumn_caution=0.45)
"""Early Learning Goals move together (GLD ~68% while the writing goal is ~71%)."""
NOISE_PERSISTENCE = 0.6
"""Period noise is AR(1): a judgement leans on the previous one."""

CURRENT_PERIOD_COMPLETION = (0.7, 1.0)
"""Each class of the current (unlocked) period has entered between 70% and 100% (mean ~85%)."""

SCHOOL_NAMES: tuple[str, ...] = (
    "Oakfield Primary Academy",
    "Riverside Primary Academy",
    "Meadowbank Primary School",
    "St Aidan's Church of England Primary Academy",
    "Hillcrest Primary Academy",
    "Brookside Primary Academy",
    "Thornbury Primary Academy",
    "Ashgrove Primary School",
    "Kingsmead Primary Academy",
    "Willow Brook Primary Academy",
    "Castle Hill Primary Academy",
    "Greenacres Primary Academy",
    "Fernwood Primary Academy",
    "Moorland Primary School",
    "Harbour View Primary Academy",
    "St Bede's Catholic Primary Academy",
    "Elmstead Primary Academy",
    "Larkrise Primary Academy",
    "Northgate Primary Academy",
    "Cedar Park Primary Academy",
)


# ---------------------------------------------------------------------------------------------
# Internal state of the simulation
# ---------------------------------------------------------------------------------------------


@dataclass
class _School:
    school_id: str
    name: str
    cohort_size: int
    disadvantage: float
    """Multiplier on the national FSM6 share."""
    diversity: float
    """Multiplier on the national share of pupils who are not White British."""
    effect: float
    ethnicity_weights: list[float] = field(default_factory=list)


@dataclass
class _Pupil:
    pupil_id: str
    school: _School
    reception_year: int
    """Start year of the academic year the pupil was (or would have been) in Reception."""
    sex: Sex
    fsm6: bool
    lac: bool
    plac: bool
    sen: SenProvision
    eal: bool
    ethnicity: str
    ability: float
    offsets: dict[str, float]
    joined_on: date | None = None
    left_on: date | None = None

    def year_group(self, start_year: int) -> YearGroup | None:
        index = start_year - self.reception_year
        return YEAR_GROUPS[index] if 0 <= index < len(YEAR_GROUPS) else None

    def on_roll_at_start_of(self, start_year: int) -> bool:
        return (
            self.year_group(start_year) is not None
            and (self.joined_on is None or self.joined_on <= date(start_year, 9, 1))
            and (self.left_on is None or self.left_on >= date(start_year, 9, 1))
        )

    @property
    def disadvantaged(self) -> bool:
        return is_disadvantaged(self.fsm6, self.lac, self.plac)

    @property
    def school_id(self) -> str:
        return self.school.school_id

    def latent(self, subject: str, year_group: YearGroup) -> float:
        """The persistent part of the pupil's score in a subject (no period noise or season)."""
        if year_group is YearGroup.R:
            sex_effect = FEMALE_EYFS_EFFECT if self.sex is Sex.F else 0.0
        else:
            sex_effect = FEMALE_EFFECT[subject] if self.sex is Sex.F else 0.0
        eal_effect = EAL_EFFECT.get(year_group, 0.0) if self.eal else 0.0
        return self.ability + sex_effect + eal_effect + self.offsets[subject]

    def on_roll_during(self, start_year: int) -> bool:
        """Whether the pupil was on roll at some time in the academic year starting in `start_year`."""
        return (
            self.year_group(start_year) is not None
            and (self.joined_on is None or self.joined_on <= date(start_year + 1, 8, 31))
            and (self.left_on is None or self.left_on >= date(start_year, 9, 1))
        )

    def record(self, today: date, class_id: str | None = None) -> PupilRecord:
        """Current characteristics, and the class of the year given (`class_id`, when any); a
        leaver's year group is the one they left from."""
        as_of = self.left_on or today
        year_group = self.year_group(parse_academic_year(academic_year_of(as_of)))
        assert year_group is not None, f"{self.pupil_id} has no year group on {as_of}"
        return PupilRecord(
            pupil_id=self.pupil_id,
            school_id=self.school.school_id,
            year_group=year_group,
            sex=self.sex,
            fsm6=self.fsm6,
            lac=self.lac,
            plac=self.plac,
            sen=self.sen,
            eal=self.eal,
            ethnicity=self.ethnicity,
            left_on=self.left_on,
            **({"class_id": class_id} if class_id is not None else {}),
        )


@dataclass(frozen=True)
class _Cutoffs:
    at: float
    above: float

    def band(self, score: float) -> Band:
        if score >= self.above:
            return Band.ABOVE
        return Band.AT if score >= self.at else Band.BELOW

    def grade(self, score: float) -> tuple[Band, str]:
        """The band and the code of the Sonar model: Just / Securely At split the AT band in half;
        Significantly Below / Above lie a whole AT band's width beyond it (rare)."""
        band, width = self.band(score), self.above - self.at
        if band is Band.BELOW:
            return band, "SB" if score < self.at - width else "B"
        if band is Band.AT:
            return band, "JA" if score < self.at + width / 2 else "SA"
        return band, "SAB" if score >= self.above + width else "A"


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def generate_trust(
    seed: int = 2026, schools: int = 12, pupils_per_school: int | None = None, today: date | None = None
) -> DemoTrust:
    """A Trust of `schools` primaries over the current academic year (of `today`) and the two before."""
    if schools < 1:
        raise ValueError("a Trust needs at least one school")
    with _collector_paused():
        return _generate_trust(seed, schools, pupils_per_school, today or date.today())


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the Trust is built, back as it was after.

    Why: the generator builds some 400,000 records that all stay alive and no reference cycles,
    and each full collection re-scans everything built so far: a quarter to a third of the
    default Trust's generation time went on collections that found nothing to free."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _generate_trust(seed: int, schools: int, pupils_per_school: int | None, today: date) -> DemoTrust:
    rng = Random(seed)
    years = [parse_academic_year(year) for year in academic_years_up_to(academic_year_of(today))]

    school_states = _make_schools(rng, schools, pupils_per_school or DEFAULT_ROLL_PER_SCHOOL)
    pupils = _simulate_rolls(rng, school_states, years, today)
    cutoffs = _calibrate(rng, pupils, years)
    periods = _started_periods(years, today)
    current = periods[-1]
    assessments = _results(rng, pupils, periods, current, cutoffs)
    locks = [
        LockScope(school_id=s.school_id, academic_year=ref.academic_year, period=ref.period)
        for ref in periods[:-1]
        for s in school_states
    ]
    statutory, statutory_locks = generate_statutory(seed, pupils, years, today)
    classes, placed = _classes(school_states, pupils, years)
    return DemoTrust(
        schools=[
            SchoolRecord(school_id=s.school_id, name=s.name, assessment_model=SONAR_MODEL) for s in school_states
        ],
        pupils=[p.record(today, _latest(placed.get(p.pupil_id))) for p in pupils],
        assessments=assessments,
        locks=locks,
        current_year=current.academic_year,
        current_period=current.period,
        statutory=statutory,
        statutory_locks=statutory_locks,
        classes=classes,
        class_history=[[p.record(today, placed[p.pupil_id][year]) for p in pupils
                        if year in placed.get(p.pupil_id, {}) and year < max(placed[p.pupil_id])]
                       for year in map(format_academic_year, years[:-1])],
    )


TWO_FORMS_FROM = 45
"""Schools with a cohort of at least this many pupils teach each year group in two classes (A, B)."""


def _classes(
    schools: Sequence[_School], pupils: Sequence[_Pupil], years: Sequence[int]
) -> tuple[list[ClassRecord], dict[str, dict[str, str]]]:
    """Each school's classes of each year (one per year group, two in larger schools) and each
    pupil's class per academic year: a year group's pupils on roll that year, by id, split between
    its classes in turn. Drawn from nothing random, so the rest of the Trust is unchanged."""
    classes: list[ClassRecord] = []
    placed: dict[str, dict[str, str]] = defaultdict(dict)
    cohorts: dict[tuple[str, int, YearGroup], list[_Pupil]] = defaultdict(list)
    for pupil in pupils:
        for start in years:
            year_group = pupil.year_group(start)
            if year_group is not None and pupil.on_roll_during(start):
                cohorts[(pupil.school_id, start, year_group)].append(pupil)
    for school in schools:
        forms = "AB" if school.cohort_size >= TWO_FORMS_FROM else "A"
        for start in years:
            academic_year = format_academic_year(start)
            for year_group in YEAR_GROUPS:
                ids = [f"{school.school_id}-{start % 100:02d}{(start + 1) % 100:02d}-{year_group.value}{form}"
                       for form in forms]
                label = "Reception" if year_group is YearGroup.R else f"Year {year_group.value[1:]}"
                for class_id, form in zip(ids, forms, strict=True):
                    name = f"{label} {form}" if len(forms) > 1 else label
                    classes.append(ClassRecord(class_id=class_id, school_id=school.school_id,
                                               academic_year=academic_year, name=name, year_groups=[year_group]))
                cohort = sorted(cohorts.get((school.school_id, start, year_group), []), key=lambda p: p.pupil_id)
                for index, pupil in enumerate(cohort):
                    placed[pupil.pupil_id][academic_year] = ids[index % len(ids)]
    return classes, placed


def _latest(classes: Mapping[str, str] | None) -> str | None:
    """The class of the latest academic year a pupil had one in."""
    return classes[max(classes)] if classes else None


def _make_schools(rng: Random, count: int, mean_roll: float) -> list[_School]:
    """1- to 2-form entry schools; some more disadvantaged or diverse, the Trust near national."""
    width = max(2, len(str(count)))
    entry = [rng.uniform(1.0, 2.1) for _ in range(count)]
    disadvantage = [rng.lognormvariate(0.0, 0.4) for _ in range(count)]
    diversity = [rng.lognormvariate(0.0, 0.6) for _ in range(count)]
    effect = [rng.gauss(0.0, SCHOOL_EFFECT_SD) for _ in range(count)]
    mean_cohort = mean_roll / len(YEAR_GROUPS)
    mean_entry = sum(entry) / count
    sizes = [max(5, round(mean_cohort * e / mean_entry)) for e in entry]
    disadvantage = _normalised(disadvantage, sizes, mean=1.0)
    diversity = _normalised(diversity, sizes, mean=1.0)
    mean_effect = _weighted_mean(effect, sizes)
    effect = [e - mean_effect for e in effect]
    result = []
    for i in range(count):
        name = SCHOOL_NAMES[i % len(SCHOOL_NAMES)]
        if i >= len(SCHOOL_NAMES):
            name = f"{name} ({i // len(SCHOOL_NAMES) + 1})"
        school = _School(f"S{i + 1:0{width}d}", name, sizes[i], disadvantage[i], diversity[i], effect[i])
        school.ethnicity_weights = _ethnicity_weights(school.diversity)
        result.append(school)
    return result


def _weighted_mean(values: Sequence[float], weights: Sequence[int]) -> float:
    return sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)


def _normalised(values: Sequence[float], weights: Sequence[int], mean: float) -> list[float]:
    scale = mean / _weighted_mean(values, weights)
    return [v * scale for v in values]


def _ethnicity_weights(diversity: float) -> list[float]:
    """National shares with the non-White-British share scaled by the school's diversity."""
    white_british = ETHNICITY_SHARE["WBRI"] / 100
    others = min(0.9, (1 - white_british) * diversity)
    scale = others / (1 - white_british)
    return [
        (1 - others) * 100 if code == "WBRI" else share * scale for code, share in ETHNICITY_SHARE.items()
    ]


def _simulate_rolls(rng: Random, schools: list[_School], years: list[int], today: date) -> list[_Pupil]:
    """Cohorts move up each September; Year 6 leave in July; a few leave and join mid-year."""
    pupils: list[_Pupil] = []

    def admit(school: _School, reception_year: int, joined_on: date | None = None) -> _Pupil:
        pupil = _new_pupil(rng, f"P{len(pupils) + 1:06d}", school, reception_year, joined_on)
        pupils.append(pupil)
        return pupil

    first = years[0]
    for school in schools:
        roll = [
            admit(school, first - index) for index in range(len(YEAR_GROUPS)) for _ in _cohort(rng, school)
        ]
        for start in years:
            if start != first:
                roll += [admit(school, start) for _ in _cohort(rng, school)]
            roll = [p for p in roll if p.on_roll_at_start_of(start)]
            cutoff = min(today, date(start + 1, *MID_YEAR_MOVES[1]))
            joiners = []
            for pupil in roll:
                moved_on = _mid_year_date(rng, start)
                if rng.random() < P_LEAVE_MID_YEAR and moved_on <= cutoff:
                    pupil.left_on = moved_on
                if rng.random() < P_JOIN_MID_YEAR:
                    joined_on = _mid_year_date(rng, start)
                    if joined_on <= cutoff:
                        joiners.append(admit(school, start - rng.randrange(len(YEAR_GROUPS)), joined_on))
            roll += joiners
            if start < years[-1]:
                for pupil in roll:
                    if pupil.year_group(start) is YearGroup.Y6 and pupil.left_on is None:
                        pupil.left_on = date(start + 1, *YEAR6_LEAVING)
    return pupils


def _cohort(rng: Random, school: _School) -> range:
    return range(max(1, round(school.cohort_size * rng.uniform(0.94, 1.06))))


def _mid_year_date(rng: Random, start: int) -> date:
    first = date(start, *MID_YEAR_MOVES[0])
    last = date(start + 1, *MID_YEAR_MOVES[1])
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _new_pupil(
    rng: Random, pupil_id: str, school: _School, reception_year: int, joined_on: date | None
) -> _Pupil:
    sex = Sex.M if rng.random() < P_MALE else Sex.F
    fsm6 = rng.random() < min(0.7, P_FSM6 * school.disadvantage)
    lac = rng.random() < P_LAC * school.disadvantage
    plac = rng.random() < P_PLAC
    disadvantaged = is_disadvantaged(fsm6, lac, plac)
    if disadvantaged:
        sen_ratio = SEN_DISADVANTAGED_RATIO
    else:
        sen_ratio = (1 - P_FSM6 * SEN_DISADVANTAGED_RATIO) / (1 - P_FSM6)
    draw = rng.random()
    if draw < P_SEN_E[sex] * sen_ratio:
        sen = SenProvision.E
    elif draw < (P_SEN_E[sex] + P_SEN_K[sex]) * sen_ratio:
        sen = SenProvision.K
    else:
        sen = SenProvision.N
    ethnicity = rng.choices(ETHNICITY_CODES, weights=school.ethnicity_weights)[0]
    eal = rng.random() < P_EAL_BY_ETHNICITY[ethnicity]
    ability = (
        rng.gauss(0.0, 1.0)
        + school.effect
        + (DISADVANTAGED_EFFECT if disadvantaged else 0.0)
        + SEN_EFFECT[sen]
    )
    offsets = {subject: rng.gauss(0.0, PRIMARY_SPREAD.subject_sd) for subject in PRIMARY_SUBJECTS_SENT}
    offsets |= {goal: rng.gauss(0.0, EYFS_SPREAD.subject_sd) for goal in EYFS_GOALS}
    return _Pupil(
        pupil_id, school, reception_year, sex, fsm6, lac, plac, sen, eal, ethnicity, ability, offsets,
        joined_on=joined_on,
    )


def _calibrate(rng: Random, pupils: Sequence[_Pupil], years: Sequence[int]) -> dict[str, _Cutoffs]:
    """Cut-offs per subject so that, over every pupil-year generated, SUM2 hits the targets."""
    cutoffs: dict[str, _Cutoffs] = {}
    pupil_years = [(p, yg) for p in pupils for y in years if (yg := p.year_group(y)) is not None]
    phases = (
        (PRIMARY_TARGETS, PRIMARY_SPREAD, [(p, yg) for p, yg in pupil_years if yg is not YearGroup.R]),
        (EYFS_TARGETS, EYFS_SPREAD, [(p, yg) for p, yg in pupil_years if yg is YearGroup.R]),
    )
    for targets, spread, pool in phases:
        for subject, target in targets.items():
            scores = sorted(p.latent(subject, yg) + rng.gauss(0.0, spread.noise_sd) for p, yg in pool)
            cutoffs[subject] = _Cutoffs(
                at=_quantile(scores, 1 - target.at_or_above), above=_quantile(scores, 1 - target.above)
            )
    return cutoffs


def _quantile(sorted_scores: Sequence[float], share_below: float) -> float:
    if share_below >= 1.0:
        return math.inf
    return sorted_scores[min(len(sorted_scores) - 1, round(share_below * len(sorted_scores)))]


def _started_periods(years: Sequence[int], today: date) -> list[PeriodRef]:
    """Every half-term of the window that has started by `today`, oldest first."""
    refs = [PeriodRef(format_academic_year(y), p) for y in years for p in HALF_TERMS]
    return [ref for ref in refs if PeriodCalendar.start_date(ref) <= today]


def _period_end(ref: PeriodRef) -> date:
    index = HALF_TERMS.index(ref.period)
    if index + 1 < len(HALF_TERMS):
        following = PeriodRef(ref.academic_year, HALF_TERMS[index + 1])
        return PeriodCalendar.start_date(following) - timedelta(days=1)
    return date(parse_academic_year(ref.academic_year) + 1, 8, 31)


def _season_shift(period: str, spread: Spread) -> float:
    """Teachers are more cautious early in the year: full caution at AUT1, none at SUM2."""
    remaining = len(HALF_TERMS) - 1 - HALF_TERMS.index(period)
    return -spread.autumn_caution * remaining / (len(HALF_TERMS) - 1)


@dataclass(frozen=True)
class _Slot:
    """One started period with what every result in it shares (computed once, not per result)."""

    ref: PeriodRef
    start_year: int
    ends_on: date
    is_current: bool


def _slots(periods: Sequence[PeriodRef], current: PeriodRef) -> list[_Slot]:
    return [
        _Slot(ref, parse_academic_year(ref.academic_year), _period_end(ref), is_current=ref == current)
        for ref in periods
    ]


def _results(
    rng: Random,
    pupils: Iterable[_Pupil],
    periods: Sequence[PeriodRef],
    current: PeriodRef,
    cutoffs: Mapping[str, _Cutoffs],
) -> list[AssessmentRecord]:
    """Results per pupil and period on roll, ordered by period, school, pupil and subject."""
    buckets: dict[tuple[PeriodRef, str], list[AssessmentRecord]] = defaultdict(list)
    completion: dict[tuple[str, YearGroup], float] = {}
    slots = _slots(periods, current)
    fresh_share = math.sqrt(1 - NOISE_PERSISTENCE**2)
    for pupil in pupils:
        school_id = pupil.school.school_id
        noise: dict[str, float] = {}
        latent: dict[str, float] = {}
        latent_year = -1
        for slot in slots:
            year_group = pupil.year_group(slot.start_year)
            if year_group is None or not _assessed(pupil, slot):
                continue
            spread = EYFS_SPREAD if year_group is YearGroup.R else PRIMARY_SPREAD
            subjects = EYFS_GOALS if year_group is YearGroup.R else PRIMARY_SUBJECTS_SENT
            if latent_year != slot.start_year:
                latent = {subject: pupil.latent(subject, year_group) for subject in subjects}
                latent_year = slot.start_year
            for subject in subjects:  # noise keeps moving even when a result is not entered
                previous = noise.get(subject)
                fresh = rng.gauss(0.0, spread.noise_sd)
                if previous is not None:
                    fresh = NOISE_PERSISTENCE * previous + fresh_share * fresh
                noise[subject] = fresh
            if slot.is_current:
                rate = completion.setdefault((school_id, year_group), rng.uniform(*CURRENT_PERIOD_COMPLETION))
                if rng.random() >= rate:
                    continue
            shift = _season_shift(slot.ref.period, spread)
            grades = [cutoffs[subject].grade(latent[subject] + noise[subject] + shift) for subject in subjects]
            buckets[(slot.ref, school_id)] += _pupil_period_results(
                pupil, slot.ref, year_group, subjects, grades,
                None if slot.is_current or slot.ends_on > date.today() else slot.ends_on,
            )
    return [record for key in sorted(buckets) for record in buckets[key]]


def _pupil_period_results(
    pupil: _Pupil, ref: PeriodRef, year_group: YearGroup, subjects: Sequence[str], grades: Sequence[tuple[Band, str]],
    assessed_on: date | None = None,
) -> list[AssessmentRecord]:
    """One pupil's results in one period, each with its band and its code in the schools' model, and
    its assessment date: the period's last day (None in the current period, and in a period not yet
    ended in the real world when a benchmark simulates a later `today`: the day it is entered).
    The first is fully validated; the others copy it and change only subject, band and code, all
    from closed lists: re-validating the same ids, year and period for every subject costs about
    a second at the default size."""
    first = AssessmentRecord(
        pupil_id=pupil.pupil_id,
        school_id=pupil.school.school_id,
        academic_year=ref.academic_year,
        period=ref.period,
        year_group=year_group,
        subject=subjects[0],
        band=grades[0][0],
        code=grades[0][1],
        assessed_on=assessed_on,
    )
    return [first] + [
        first.model_copy(update={"subject": subject, "band": band, "code": code})
        for subject, (band, code) in zip(subjects[1:], grades[1:], strict=True)
    ]


def _assessed(pupil: _Pupil, slot: _Slot) -> bool:
    """On roll for the period: joined before it ended and had not left before it started."""
    joined = pupil.joined_on is None or pupil.joined_on <= slot.ends_on
    return joined and on_roll_during(pupil.left_on, slot.ref)


# ---------------------------------------------------------------------------------------------
# Calibration summary
# ---------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Numerators and denominators per measure, pooled over pupils."""

    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, measure: str, hit: bool) -> None:
        self.counts[measure] += 1
        self.hits[measure] += hit

    def percent(self, measure: str) -> float | None:
        return percentage(self.hits[measure], self.counts[measure]) if measure in self.counts else None


def roll_profile(trust: DemoTrust) -> dict[str, float]:
    """% of the current roll with each characteristic, to compare with England primary."""
    roll = trust.current_roll
    if not roll:
        return {"pupils_on_roll": 0.0}
    share: dict[str, Callable[[PupilRecord], bool]] = {
        "male": lambda p: p.sex is Sex.M,
        "fsm6": lambda p: p.fsm6,
        "disadvantaged": lambda p: p.disadvantaged,
        "lac": lambda p: p.lac,
        "plac": lambda p: p.plac,
        "sen_k": lambda p: p.sen is SenProvision.K,
        "sen_e": lambda p: p.sen is SenProvision.E,
        "eal": lambda p: p.eal,
        "wbri": lambda p: p.ethnicity == "WBRI",
    }
    profile = {"pupils_on_roll": float(len(roll))}
    profile |= {name: 100.0 * sum(1 for p in roll if test(p)) / len(roll) for name, test in share.items()}
    return profile


def national_summary(trust: DemoTrust, academic_year: str, period: str) -> dict[str, float]:
    """% AT+ from the locked results of one period, to compare with the national figures.

    Keys: reading, writing, maths, rwm (Years 1-6 pooled); y6_* the same for Year 6 plus
    y6_*_above (greater depth); rwm and y6_rwm gaps (disadvantaged = not disadvantaged minus
    disadvantaged, gender = female minus male); gld, eyfs_goal_lowest and eyfs_goal_highest for
    Reception. A measure with no locked result is left out (no data is never 0%).
    """
    locked = _locked_results(trust, academic_year, period)
    pupils = {p.pupil_id: p for p in trust.pupils}
    tally = _Tally()
    for pupil_id, (year_group, bands) in locked.items():
        pupil = pupils[pupil_id]
        if year_group is YearGroup.R:
            _tally_reception(tally, bands)
        else:
            _tally_primary(tally, pupil, year_group, bands)
    summary = {measure: tally.percent(measure) for measure in sorted(tally.counts)}
    summary |= _gaps(tally) | _goal_extremes(tally)
    return {k: v for k, v in summary.items() if v is not None and not k.startswith(("_", "goal_"))}


def _locked_results(
    trust: DemoTrust, academic_year: str, period: str
) -> dict[str, tuple[YearGroup, dict[str, Band]]]:
    """pupil -> (year group, subject -> band) for the results of the period that a lock covers."""
    scopes: dict[str, list[LockScope]] = defaultdict(list)
    for lock in trust.locks:
        if lock.academic_year == academic_year and lock.period == period:
            scopes[lock.school_id].append(lock)
    results: dict[str, tuple[YearGroup, dict[str, Band]]] = {}
    for r in trust.assessments:
        if r.academic_year != academic_year or r.period != period:
            continue
        # Every demo result carries its band (and its code of the Sonar model).
        if r.band is not None and any(_covers(scope, r) for scope in scopes.get(r.school_id, ())):
            results.setdefault(r.pupil_id, (r.year_group, {}))[1][r.subject] = r.band
    return results


def _covers(scope: LockScope, record: AssessmentRecord) -> bool:
    """A lock covers its school's period, narrowed to a year group and/or subject when given."""
    return (scope.year_group is None or scope.year_group is record.year_group) and (
        scope.subject is None or scope.subject == record.subject
    )


def _tally_reception(tally: _Tally, bands: Mapping[str, Band]) -> None:
    gld = combined_gld(bands)
    if gld is not None:
        tally.add("gld", at_or_above(gld))
    for goal, band in bands.items():
        tally.add(f"goal_{goal}", at_or_above(band))


def _tally_primary(
    tally: _Tally, pupil: PupilRecord, year_group: YearGroup, bands: Mapping[str, Band]
) -> None:
    prefixes = ("", "y6_") if year_group is YearGroup.Y6 else ("",)
    rwm = combined_rwm(bands)
    for prefix in prefixes:
        for subject in CORE_SUBJECTS:
            if subject in bands:
                tally.add(f"{prefix}{subject}", at_or_above(bands[subject]))
                if prefix:
                    tally.add(f"{prefix}{subject}_above", bands[subject] is Band.ABOVE)
        if rwm is None:
            continue
        tally.add(f"{prefix}rwm", at_or_above(rwm))
        if prefix:
            tally.add(f"{prefix}rwm_above", rwm is Band.ABOVE)
        tally.add(f"_{prefix}rwm_disadvantaged_{pupil.disadvantaged}", at_or_above(rwm))
        tally.add(f"_{prefix}rwm_sex_{pupil.sex}", at_or_above(rwm))


def _gaps(tally: _Tally) -> dict[str, float | None]:
    gaps: dict[str, float | None] = {}
    for prefix in ("", "y6_"):
        pairs = {
            "disadvantaged_gap": ("disadvantaged_False", "disadvantaged_True"),
            "gender_gap": ("sex_F", "sex_M"),
        }
        for name, (first, second) in pairs.items():
            a, b = tally.percent(f"_{prefix}rwm_{first}"), tally.percent(f"_{prefix}rwm_{second}")
            gaps[f"{prefix}rwm_{name}"] = None if a is None or b is None else a - b
    return gaps


def _goal_extremes(tally: _Tally) -> dict[str, float | None]:
    goals = [p for goal in EYFS_GOALS if (p := tally.percent(f"goal_{goal}")) is not None]
    return {
        "eyfs_goal_lowest": min(goals) if goals else None,
        "eyfs_goal_highest": max(goals) if goals else None,
    }
