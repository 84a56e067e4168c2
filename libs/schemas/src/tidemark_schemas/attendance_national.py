"""National attendance comparators: the DfE figures `dfe-rules.md` 7.4 records, each with its
source, academic year, period and phase, for reports to show beside the Trust's own figure.

Only published figures: where the reference gives none for a year, period, phase, group or measure,
there is no row and `comparators` answers None. Figures quoted only as approximations there ("~11%
before the pandemic", "severe absence ~2.2%", "primary ~5.2% in 2024/25") are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tidemark_schemas.calendar import HALF_TERMS, TERM_HALVES, TERMS


class NationalPeriod(StrEnum):
    """The periods DfE absence statistics are published for (census terms, cumulative)."""

    AUTUMN = "autumn"
    SPRING = "spring"
    AUTUMN_SPRING = "autumn_spring"
    FULL_YEAR = "full_year"


class Phase(StrEnum):
    PRIMARY = "primary"
    ALL_SCHOOLS = "all_schools"
    """State-funded primary, secondary and special schools together."""


class NationalMeasure(StrEnum):
    OVERALL_ABSENCE = "absence_pct"
    AUTHORISED_ABSENCE = "authorised_absence_pct"
    UNAUTHORISED_ABSENCE = "unauthorised_absence_pct"
    PERSISTENT_ABSENCE = "persistent_absence_pct"
    ABSENCE_BY_REASON = "reason_pct"
    """Sessions missed for one reason (`reason`: the register code) as a % of possible sessions."""


class NationalGroup(StrEnum):
    """The pupil groups a figure may be for (None: all pupils). DfE publishes by FSM eligibility;
    Tidemark's nearest grouping is disadvantaged (FSM6, LAC, PLAC), so compare with care."""

    FSM = "fsm"
    NOT_FSM = "not_fsm"
    SEN_EHC_PLAN = "sen_E"
    SEN_SUPPORT = "sen_K"
    NO_SEN = "sen_N"


CENSUS = "DfE, Pupil absence in schools in England (school census)"
DAILY = "DfE, Pupil attendance in schools (daily attendance data)"


@dataclass(frozen=True, slots=True)
class NationalFigure:
    academic_year: str
    period: NationalPeriod
    measure: NationalMeasure
    phase: Phase
    value: float
    """A percentage as published (rounded as the DfE rounds it)."""
    source: str
    group: NationalGroup | None = None
    reason: str | None = None
    """The register code of an absence-by-reason figure."""
    note: str = ""


_P, _M, _PH, _G = NationalPeriod, NationalMeasure, Phase, NationalGroup

NATIONAL_FIGURES: tuple[NationalFigure, ...] = (
    NationalFigure("2022/23", _P.FULL_YEAR, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 7.4, CENSUS),
    NationalFigure("2022/23", _P.FULL_YEAR, _M.OVERALL_ABSENCE, _PH.PRIMARY, 5.9, CENSUS),
    NationalFigure("2022/23", _P.FULL_YEAR, _M.AUTHORISED_ABSENCE, _PH.ALL_SCHOOLS, 5.0, CENSUS),
    NationalFigure("2023/24", _P.FULL_YEAR, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 7.1, CENSUS),
    NationalFigure("2023/24", _P.FULL_YEAR, _M.OVERALL_ABSENCE, _PH.PRIMARY, 5.5, CENSUS),
    NationalFigure("2023/24", _P.FULL_YEAR, _M.AUTHORISED_ABSENCE, _PH.PRIMARY, 3.9, CENSUS),
    NationalFigure("2023/24", _P.FULL_YEAR, _M.UNAUTHORISED_ABSENCE, _PH.PRIMARY, 1.6, CENSUS),
    NationalFigure("2023/24", _P.FULL_YEAR, _M.AUTHORISED_ABSENCE, _PH.ALL_SCHOOLS, 4.7, CENSUS),
    NationalFigure("2023/24", _P.FULL_YEAR, _M.ABSENCE_BY_REASON, _PH.ALL_SCHOOLS, 3.5, CENSUS, reason="I",
                   note="illness, the largest reason"),
    NationalFigure("2023/24", _P.FULL_YEAR, _M.ABSENCE_BY_REASON, _PH.ALL_SCHOOLS, 1.7, CENSUS, reason="O",
                   note="unauthorised, other"),
    NationalFigure("2023/24", _P.FULL_YEAR, _M.ABSENCE_BY_REASON, _PH.ALL_SCHOOLS, 0.5, CENSUS, reason="G",
                   note="unauthorised holiday"),
    NationalFigure("2023/24", _P.AUTUMN, _M.PERSISTENT_ABSENCE, _PH.ALL_SCHOOLS, 20.1, DAILY),
    NationalFigure("2023/24", _P.SPRING, _M.PERSISTENT_ABSENCE, _PH.ALL_SCHOOLS, 21.8, DAILY),
    NationalFigure("2024/25", _P.AUTUMN, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 6.38, CENSUS),
    NationalFigure("2024/25", _P.AUTUMN, _M.OVERALL_ABSENCE, _PH.PRIMARY, 5.07, CENSUS),
    NationalFigure("2024/25", _P.AUTUMN, _M.PERSISTENT_ABSENCE, _PH.ALL_SCHOOLS, 19.2, DAILY),
    NationalFigure("2024/25", _P.AUTUMN, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 10.0, CENSUS, group=_G.FSM),
    NationalFigure("2024/25", _P.AUTUMN, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 5.2, CENSUS, group=_G.NOT_FSM),
    NationalFigure("2024/25", _P.AUTUMN, _M.PERSISTENT_ABSENCE, _PH.ALL_SCHOOLS, 31.7, CENSUS, group=_G.FSM),
    NationalFigure("2024/25", _P.AUTUMN, _M.PERSISTENT_ABSENCE, _PH.ALL_SCHOOLS, 14.4, CENSUS, group=_G.NOT_FSM),
    NationalFigure("2024/25", _P.AUTUMN, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 13.1, CENSUS, group=_G.SEN_EHC_PLAN),
    NationalFigure("2024/25", _P.AUTUMN, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 10.1, CENSUS, group=_G.SEN_SUPPORT),
    NationalFigure("2024/25", _P.AUTUMN, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 5.8, CENSUS, group=_G.NO_SEN),
    NationalFigure("2024/25", _P.AUTUMN_SPRING, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 6.63, CENSUS),
    NationalFigure("2024/25", _P.AUTUMN_SPRING, _M.OVERALL_ABSENCE, _PH.PRIMARY, 5.16, CENSUS),
    NationalFigure("2024/25", _P.FULL_YEAR, _M.OVERALL_ABSENCE, _PH.ALL_SCHOOLS, 6.9, DAILY,
                   note="estimate from daily attendance data, before the census release"),
    NationalFigure("2024/25", _P.FULL_YEAR, _M.PERSISTENT_ABSENCE, _PH.ALL_SCHOOLS, 18.7, DAILY,
                   note="estimate from daily attendance data, before the census release"),
)
"""Every national figure Tidemark shows (`dfe-rules.md` 7.4)."""


def national_period_of(period: str) -> NationalPeriod | None:
    """The published period a Trust period compares with: a half-term or term of the autumn with
    the autumn, of the spring with the spring; none is published for the summer term alone."""
    term = period if period in TERMS else next((t for t, halves in TERM_HALVES.items() if period in halves), None)
    return {"AUT": NationalPeriod.AUTUMN, "SPR": NationalPeriod.SPRING}.get(term or "")


def national_period_to_date(last_period: str) -> NationalPeriod:
    """The published period a year-to-date figure compares with, given the last period it covers:
    autumn, autumn and spring, or the full year."""
    position = HALF_TERMS.index(TERM_HALVES[last_period][1] if last_period in TERMS else last_period)
    return (NationalPeriod.AUTUMN, NationalPeriod.AUTUMN_SPRING, NationalPeriod.FULL_YEAR)[position // 2]


def comparators(
    academic_year: str, period: NationalPeriod | None, group: NationalGroup | None = None,
) -> dict[NationalMeasure, NationalFigure | None]:
    """The national figure of each headline measure (not by reason) for one year, period and group:
    the primary figure where one is published, else the all-schools one, else None."""
    found: dict[NationalMeasure, NationalFigure | None] = {
        measure: None for measure in NationalMeasure if measure is not NationalMeasure.ABSENCE_BY_REASON
    }
    if period is None:
        return found
    for figure in NATIONAL_FIGURES:
        if (figure.academic_year, figure.period, figure.group) != (academic_year, period, group):
            continue
        if figure.measure not in found:
            continue
        current = found[figure.measure]
        if current is None or (figure.phase is Phase.PRIMARY and current.phase is not Phase.PRIMARY):
            found[figure.measure] = figure
    return found


def reasons(academic_year: str, period: NationalPeriod | None) -> dict[str, NationalFigure]:
    """National absence by reason, by register code, for one year and period (empty when none)."""
    return {
        figure.reason: figure for figure in NATIONAL_FIGURES
        if figure.measure is NationalMeasure.ABSENCE_BY_REASON and figure.reason is not None
        and (figure.academic_year, figure.period) == (academic_year, period)
    }
