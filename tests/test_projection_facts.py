"""What a projection asks the replay for is all it is rebuilt from (`Projection.facts`): every kind
of fact it leaves out is one whose events its rules route nowhere and its engine does not keep, so a
rebuild that skips them (the summative projections skip the register marks: most of a Trust's facts)
counts exactly what one of every fact would."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tidemark_metrics.domain.attendance import AttendanceProjection
from tidemark_metrics.domain.projection import METRICS
from tidemark_runtime.projections.rules import Projection
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.events import (
    AssessmentEntered,
    AssessmentLocked,
    AssessmentUnlocked,
    AttendanceMarked,
    ClassUpserted,
    PupilUpserted,
    SchoolUpserted,
    StatutoryEntered,
    StatutoryLocked,
    StatutoryUnlocked,
    TrustCalendarSet,
)
from tidemark_schemas.replay import FACT_KINDS, FactKind
from tidemark_statutory.domain.projection import STATUTORY

IDS = dict(trust_id="T", school_id="S1", version=1)
RESULT = dict(IDS, pupil_id="P1", academic_year="2025/26", period="AUT1", year_group="Y6", subject="reading",
              entered_band="AT", locked_band="AT")
STATUTORY_RESULT = dict(IDS, pupil_id="P1", academic_year="2025/26", assessment="ks2", component="reading_test",
                        entered={"scaled_score": 104}, locked={"scaled_score": 104})
EVENTS: list[Any] = [
    TrustCalendarSet.model_construct(trust_id="T", academic_year="2025/26", version=1),  # routed by no rules
    SchoolUpserted(**IDS, name="Oak"),
    ClassUpserted(**IDS, class_id="C1", academic_year="2025/26", name="6A", year_groups=["Y6"]),
    PupilUpserted(**IDS, pupil_id="P1", year_group="Y6", sex="F", fsm6=False, lac=False, plac=False, sen="N", eal=False,
                  ethnicity="WBRI", left_on=None),
    *(kind(**RESULT) for kind in (AssessmentEntered, AssessmentLocked, AssessmentUnlocked)),
    *(kind(**STATUTORY_RESULT) for kind in (StatutoryEntered, StatutoryLocked, StatutoryUnlocked)),
    AttendanceMarked(**IDS, pupil_id="P1", date=date(2025, 10, 6), session="AM", code="/", year_group="Y6"),
]
PROJECTIONS: list[Projection] = [METRICS, STATUTORY, AttendanceProjection(PeriodCalendar())]


def test_there_is_an_event_of_every_kind_of_fact() -> None:
    assert {type(event) for event in EVENTS} == set(FACT_KINDS)


@pytest.mark.parametrize("rules", PROJECTIONS, ids=lambda rules: rules.name)
def test_every_kind_a_projection_leaves_out_of_its_rebuild_is_one_it_never_counts(rules: Projection) -> None:
    engine_keeps = {FactKind.PUPILS} | ({FactKind.SCHOOLS, FactKind.CLASSES} if rules.keeps_schools else set())
    left_out = [event for event in EVENTS if FACT_KINDS[type(event)] not in rules.facts]

    assert engine_keeps <= rules.facts
    assert [type(event).__name__ for event in left_out if rules.route(event) is not None] == []
    assert FactKind.MARKS in {FACT_KINDS[type(event)] for event in left_out} or rules.name == "attendance"
