"""National comparators for the statutory measures: the DfE's England figures that `dfe-rules.md`
records (sections 2, 3.4, 4.4, 5.4, 9.1 and 9.2), each with its academic year and source, for the
statutory pages to show beside the Trust's own figure.

One row per published figure, keyed by the statutory measure id and figure name of
`tidemark_schemas.statutory_measures` (exs_plus_pct, gds_pct, pct, average, full_marks_pct) and, for
figures published for a group, the group as the gateway names it (F / M, disadvantaged /
not_disadvantaged). Only figures the reference gives as a single value: ranges ("7-8%", "23-24%"),
approximations ("~84%", "≈ 8%") and estimates from a sample rather than the DfE (Insight's KS1
combined and 2024 optional KS1 figures) are left out, as is the old EYFS profile (2018/19, not
comparable). Where the reference quotes a DfE figure through a third party the note says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tidemark_schemas.calendar import parse_academic_year
from tidemark_schemas.statutory_measures import MEASURES


class NationalGroup(StrEnum):
    """The pupil groups a national figure may be for (None: all pupils), by the gateway's group ids."""

    FEMALE = "F"
    MALE = "M"
    DISADVANTAGED = "disadvantaged"
    NOT_DISADVANTAGED = "not_disadvantaged"


KS2 = "DfE, Key stage 2 attainment (England, all schools)"
KS1 = "DfE, Key stage 1 and phonics screening check attainment (England)"
EYFS = "DfE, Early years foundation stage profile results (England)"
PHONICS = "DfE, Phonics screening check attainment (England)"
MTC = "DfE, Multiplication tables check attainment (England)"
THIRD_PARTY = "the DfE figure as reported by a third party"


@dataclass(frozen=True, slots=True)
class NationalAttainment:
    academic_year: str
    measure: str
    """A statutory measure id (tidemark_schemas.statutory_measures.MEASURES)."""
    figure: str
    """One of the measure's figure names (exs_plus_pct, gds_pct, pct, average, full_marks_pct)."""
    value: float
    """As published: KS2, KS1, phonics and MTC percentages in whole numbers, EYFS to 1 dp, averages to 1 dp."""
    source: str
    group: NationalGroup | None = None
    note: str = ""


def _ks2_year(year: str, rwm: float, reading: float, writing: float, maths: float, gps: float, science: float,
              scaled: tuple[float, float, float] | None = None, note: str = "", scaled_note: str = "") -> list[NationalAttainment]:
    """One row of dfe-rules.md 9.1: % at the expected standard and the average scaled scores."""
    row = [NationalAttainment(year, f"ks2.{measure}", "exs_plus_pct", value, KS2,
                              note=note if measure in {"rwm", "writing"} else "")
           for measure, value in (("rwm", rwm), ("reading", reading), ("writing", writing), ("maths", maths),
                                  ("gps", gps), ("science", science))]
    if scaled is not None:
        row += [NationalAttainment(year, f"ks2.{measure}_ss", "average", value, KS2, note=scaled_note)
                for measure, value in zip(("reading", "maths", "gps"), scaled, strict=True)]
    return row


_FRAMEWORK = "the writing framework changed in 2018: not comparable with 2018 onwards"
_A, _G = NationalAttainment, NationalGroup

NATIONAL_ATTAINMENT: tuple[NationalAttainment, ...] = (
    # Key stage 2, % at the expected standard and average scaled scores (dfe-rules.md 9.1).
    *_ks2_year("2015/16", 53, 66, 74, 70, 73, 81, (103, 103, 104), note=_FRAMEWORK),
    *_ks2_year("2016/17", 61, 72, 76, 75, 77, 82, (104, 104, 106), note=_FRAMEWORK),
    *_ks2_year("2017/18", 64, 75, 78, 75, 78, 82, (105, 104, 106)),
    *_ks2_year("2018/19", 65, 73, 78, 79, 78, 83, (104, 105, 106)),
    *_ks2_year("2021/22", 59, 75, 69, 71, 72, 79),
    *_ks2_year("2022/23", 60, 73, 71, 73, 72, 80, (105, 104, 105), scaled_note=THIRD_PARTY),
    *_ks2_year("2023/24", 61, 74, 72, 73, 72, 81, (105, 104, 105), scaled_note=THIRD_PARTY),
    *_ks2_year("2024/25", 62, 75, 72, 74, 73, 82, (106, 105, 105), scaled_note=THIRD_PARTY),
    # Key stage 2, higher standard (110+; writing: greater depth), single values only (9.1).
    _A("2015/16", "ks2.rwm", "gds_pct", 5, KS2),
    _A("2021/22", "ks2.rwm", "gds_pct", 7, KS2),
    _A("2022/23", "ks2.rwm", "gds_pct", 8, KS2),
    _A("2023/24", "ks2.rwm", "gds_pct", 9, KS2, _G.FEMALE, "DfE commentary"),
    _A("2023/24", "ks2.rwm", "gds_pct", 6, KS2, _G.MALE, "DfE commentary"),
    _A("2024/25", "ks2.rwm", "gds_pct", 9, KS2, _G.FEMALE),
    _A("2024/25", "ks2.rwm", "gds_pct", 7, KS2, _G.MALE),
    _A("2022/23", "ks2.reading", "gds_pct", 29, KS2),
    _A("2023/24", "ks2.reading", "gds_pct", 28, KS2),
    _A("2018/19", "ks2.maths", "gds_pct", 27, KS2),
    _A("2022/23", "ks2.maths", "gds_pct", 24, KS2),
    _A("2024/25", "ks2.maths", "gds_pct", 22, KS2, _G.FEMALE),
    _A("2024/25", "ks2.maths", "gds_pct", 30, KS2, _G.MALE),
    _A("2018/19", "ks2.writing", "gds_pct", 20, KS2),
    _A("2022/23", "ks2.writing", "gds_pct", 13, KS2),
    _A("2024/25", "ks2.writing", "gds_pct", 16, KS2, _G.FEMALE),
    _A("2024/25", "ks2.writing", "gds_pct", 10, KS2, _G.MALE),
    _A("2018/19", "ks2.gps", "gds_pct", 36, KS2),
    _A("2022/23", "ks2.gps", "gds_pct", 30, KS2),
    # Key stage 2 by characteristic (9.1).
    _A("2023/24", "ks2.rwm", "exs_plus_pct", 45, KS2, _G.DISADVANTAGED),
    _A("2023/24", "ks2.rwm", "exs_plus_pct", 67, KS2, _G.NOT_DISADVANTAGED),
    _A("2023/24", "ks2.rwm", "exs_plus_pct", 64, KS2, _G.FEMALE),
    _A("2023/24", "ks2.rwm", "exs_plus_pct", 57, KS2, _G.MALE),
    _A("2024/25", "ks2.rwm", "exs_plus_pct", 65, KS2, _G.FEMALE),
    _A("2024/25", "ks2.rwm", "exs_plus_pct", 59, KS2, _G.MALE),
    _A("2023/24", "ks2.reading", "exs_plus_pct", 78, KS2, _G.FEMALE),
    _A("2023/24", "ks2.reading", "exs_plus_pct", 71, KS2, _G.MALE),
    # Key stage 1 teacher assessment, the last statutory years (section 2: DfE via third parties;
    # nothing collected after 2022/23).
    *(_A(year, f"ks1.{subject}", "exs_plus_pct", value, KS1, note=THIRD_PARTY)
      for year, values in (("2018/19", (75, 69, 76)), ("2021/22", (67, 58, 68)), ("2022/23", (68, 60, 70)))
      for subject, value in zip(("reading", "writing", "maths"), values, strict=True)),
    _A("2022/23", "ks1.reading", "gds_pct", 19, KS1, note=THIRD_PARTY),
    _A("2022/23", "ks1.writing", "gds_pct", 8, KS1, note=THIRD_PARTY),
    _A("2022/23", "ks1.maths", "gds_pct", 16, KS1, note=THIRD_PARTY),
    _A("2022/23", "ks1.science", "exs_plus_pct", 79, KS1, note=THIRD_PARTY),
    # EYFS profile, the framework in force since 2021/22 (3.4).
    *(_A(year, measure, figure, value, EYFS)
      for year, gld, all_goals, goals in (("2021/22", 65.2, 63.4, 14.1), ("2022/23", 67.2, 65.6, 14.1),
                                          ("2023/24", 67.7, 66.2, 14.1), ("2024/25", 68.3, 66.9, 14.1))
      for measure, figure, value in (("eyfs.gld", "pct", gld), ("eyfs.all_goals", "pct", all_goals),
                                     ("eyfs.goals", "average", goals))),
    # Phonics screening check: Year 1, and met by the end of Year 2 (4.4).
    *(_A(year, "phonics.y1", "pct", value, PHONICS)
      for year, value in (("2011/12", 58), ("2012/13", 69), ("2015/16", 81), ("2016/17", 81), ("2017/18", 82),
                          ("2018/19", 82), ("2021/22", 75), ("2022/23", 79), ("2023/24", 80), ("2024/25", 80))),
    *(_A(year, "phonics.ks1", "pct", value, PHONICS)
      for year, value in (("2012/13", 85), ("2015/16", 91), ("2017/18", 92), ("2021/22", 87), ("2022/23", 89))),
    _A("2023/24", "phonics.ks1", "pct", 89, PHONICS,
       note="method changed in 2024 (linked Year 1 and Year 2 results): not directly comparable with earlier years"),
    _A("2024/25", "phonics.y1", "pct", 84, PHONICS, _G.FEMALE),
    _A("2024/25", "phonics.y1", "pct", 76, PHONICS, _G.MALE),
    _A("2023/24", "phonics.y1", "pct", 68, PHONICS, _G.DISADVANTAGED,
       "phonics counts FSM from Year 1 as disadvantaged, not FSM6"),
    _A("2024/25", "phonics.y1", "pct", 67, PHONICS, _G.DISADVANTAGED,
       "phonics counts FSM from Year 1 as disadvantaged, not FSM6"),
    # Multiplication tables check: mean score of takers, % full marks of all eligible (5.4).
    *(_A(year, "mtc.score", figure, value, MTC)
      for year, mean, full in (("2021/22", 19.8, 27), ("2022/23", 20.2, 29), ("2023/24", 20.6, 34),
                               ("2024/25", 21.0, 37))
      for figure, value in (("average", mean), ("full_marks_pct", full))),
    _A("2021/22", "mtc.score", "average", 19.6, MTC, _G.FEMALE),
    _A("2021/22", "mtc.score", "average", 20.0, MTC, _G.MALE),
    _A("2022/23", "mtc.score", "average", 18.3, MTC, _G.DISADVANTAGED),
    _A("2022/23", "mtc.score", "average", 20.9, MTC, _G.NOT_DISADVANTAGED),
    _A("2023/24", "mtc.score", "average", 20.4, MTC, _G.FEMALE),
    _A("2023/24", "mtc.score", "average", 20.9, MTC, _G.MALE),
    _A("2023/24", "mtc.score", "average", 18.9, MTC, _G.DISADVANTAGED),
    _A("2024/25", "mtc.score", "average", 20.7, MTC, _G.FEMALE),
    _A("2024/25", "mtc.score", "average", 21.2, MTC, _G.MALE),
    _A("2024/25", "mtc.score", "average", 19.3, MTC, _G.DISADVANTAGED),
)
"""Every national statutory figure Tidemark shows."""


def national_attainment(
    measure: str, academic_year: str, group: NationalGroup | None = None,
) -> dict[str, NationalAttainment]:
    """The national figure of each of `measure`'s figures for `group` (None: all pupils): the one
    published for `academic_year`, else the latest published before it (a year's national figures
    come out after its results reach schools, so a Trust compares with the last published year
    until then). Figures with none published up to that year are absent; an empty dict is none."""
    if measure not in MEASURES:
        raise ValueError(f"unknown statutory measure {measure!r}")
    year = parse_academic_year(academic_year)
    found: dict[str, NationalAttainment] = {}
    for row in NATIONAL_ATTAINMENT:
        if row.measure != measure or row.group != group or parse_academic_year(row.academic_year) > year:
            continue
        current = found.get(row.figure)
        if current is None or parse_academic_year(row.academic_year) > parse_academic_year(current.academic_year):
            found[row.figure] = row
    return found
