"""Ingest use cases on a real PostgreSQL store: whole-batch rejection, one transaction, the outbox."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import select

from tidemark_ingest.adapters.store import ASSESSMENT, OUTBOX
from tidemark_ingest.service_layer.tracker import BatchRejected
from tidemark_ingest.testing import ingest_settings, running
from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord

PUPIL = dict(
    pupil_id="P1", school_id="S1", year_group="Y3", sex="F", fsm6=False, lac=False, plac=False, sen="N",
    eal=False, ethnicity="WBRI", left_on=None,
)
ROW = dict(pupil_id="P1", school_id="S1", academic_year="2025/26", period="AUT1", year_group="Y3", subject="reading", band="AT")


@pytest.fixture
async def ingest(database_url):
    async with running(ingest_settings(database_url)) as services:
        yield services


@pytest.fixture
def wakes() -> list[int]:
    return []


@pytest.fixture
def service(ingest, wakes):
    """The tracker's use cases as built, with a commit hook that also counts the relay's wake-ups."""
    return dataclasses.replace(ingest.tracker, on_commit=lambda: (wakes.append(1), ingest.tracker.on_commit()))


async def outbox(service) -> list[dict]:
    async with service.sessions() as session:
        rows = (await session.execute(select(OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.payload).order_by(OUTBOX.c.id))).all()
    return [{"topic": r.topic, "key": r.key, **json.loads(r.payload)} for r in rows]


async def seed(service) -> None:
    await service.post_schools("T", [SchoolRecord(school_id="S1", name="Oak")])
    await service.post_pupils("T", [PupilRecord(**PUPIL)])


async def test_a_pupil_of_an_unknown_school_rejects_the_whole_batch(service):
    await service.post_schools("T", [SchoolRecord(school_id="S1", name="Oak")])
    with pytest.raises(BatchRejected) as refused:
        await service.post_pupils("T", [PupilRecord(**PUPIL), PupilRecord(**{**PUPIL, "pupil_id": "P2", "school_id": "S9"})])
    assert [(e.row, e.field) for e in refused.value.errors] == [(1, "school_id")]
    assert [e["event_type"] for e in await outbox(service)] == ["school-upserted"]


async def test_schools_of_another_trust_are_unknown(service):
    await service.post_schools("OTHER", [SchoolRecord(school_id="S1", name="Oak")])
    with pytest.raises(BatchRejected):
        await service.post_pupils("T", [PupilRecord(**PUPIL)])


async def test_facts_and_events_are_written_together_and_resending_writes_nothing(service, wakes):
    await seed(service)
    first = await service.enter_assessments("T", [AssessmentRecord(**ROW)])
    again = await service.enter_assessments("T", [AssessmentRecord(**ROW)])
    assert (first.changed, again.changed, again.events) == (1, 0, 0)
    events = await outbox(service)
    assert [(e["topic"], e["key"], e["event_type"], e.get("version")) for e in events] == [
        ("tracker.schools.v1", "S1", "school-upserted", 1),
        ("tracker.pupils.v1", "P1", "pupil-upserted", 1),
        ("tracker.assessments.v1", "P1", "assessment-entered", 1),
    ]
    assert len(wakes) == 4  # the relay is woken after every commit


async def test_lock_narrowed_to_a_subject_locks_only_that_subject(service):
    await seed(service)
    await service.enter_assessments("T", [AssessmentRecord(**ROW), AssessmentRecord(**{**ROW, "subject": "maths", "band": "BELOW"})])
    scope = dict(school_id="S1", academic_year="2025/26", period="AUT1")
    outcome = await service.lock("T", LockScope(**scope, subject="maths"))
    assert (outcome.received, outcome.changed) == (1, 1)
    async with service.sessions() as session:
        locked = dict((await session.execute(select(ASSESSMENT.c.subject, ASSESSMENT.c.locked_band))).all())
    assert locked == {"reading": None, "maths": "BELOW"}
    last = (await outbox(service))[-1]
    assert (last["event_type"], last["subject"], last["locked_band"], last["version"]) == ("assessment-locked", "maths", "BELOW", 2)


async def test_a_period_outside_the_trusts_calendar_is_refused(service):
    await seed(service)
    termly = dataclasses.replace(service, calendar=PeriodCalendar(("AUT", "SPR", "SUM")))
    with pytest.raises(BatchRejected) as refused:
        await termly.enter_assessments("T", [AssessmentRecord(**ROW)])
    assert [(e.row, e.field) for e in refused.value.errors] == [(0, "period")]


async def test_the_same_result_twice_in_one_batch_is_ambiguous_and_refused(service):
    await seed(service)
    with pytest.raises(BatchRejected) as refused:
        await service.enter_assessments("T", [AssessmentRecord(**ROW), AssessmentRecord(**{**ROW, "band": "ABOVE"})])
    assert [(e.row, e.field, e.reason) for e in refused.value.errors] == [(1, "subject", "repeats row 0 of this batch")]


async def seed_with_model(service) -> None:
    await service.post_schools("T", [SchoolRecord(school_id="S1", name="Oak", assessment_model=SONAR_MODEL)])
    await service.post_pupils("T", [PupilRecord(**PUPIL)])


async def test_a_code_of_the_schools_model_sets_the_band_and_is_published_with_it(service):
    await seed_with_model(service)
    code_only = {key: value for key, value in ROW.items() if key != "band"}
    await service.enter_assessments("T", [AssessmentRecord(**code_only, code="SA")])
    await service.lock("T", LockScope(school_id="S1", academic_year="2025/26", period="AUT1"))
    last = (await outbox(service))[-1]
    assert (last["locked_band"], last["locked_code"], last["entered_code"]) == ("AT", "SA", "SA")


async def test_a_new_code_in_the_same_band_is_a_correction(service):
    await seed_with_model(service)
    scope = LockScope(school_id="S1", academic_year="2025/26", period="AUT1")
    await service.enter_assessments("T", [AssessmentRecord(**ROW, code="JA")])
    await service.lock("T", scope)
    await service.enter_assessments("T", [AssessmentRecord(**ROW, code="SA")])
    relocked = await service.lock("T", scope)
    last = (await outbox(service))[-1]
    assert (relocked.changed, last["locked_band"], last["locked_code"], last["version"]) == (1, "AT", "SA", 4)


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ({"band": None, "code": "XX"}, "code", "unknown code in assessment model 'sonar'; expected one of SB, B, JA, SA, A, SAB"),
        ({"band": "ABOVE", "code": "JA"}, "band", "code 'JA' of model 'sonar' means AT, not ABOVE"),
        ({"band": "AT"}, "code", "school S1 uses assessment model 'sonar': send one of its codes (SB, B, JA, SA, A, SAB)"),
    ],
)
async def test_codes_must_belong_to_the_schools_model_and_agree_with_the_band(service, row, field, reason):
    await seed_with_model(service)
    with pytest.raises(BatchRejected) as refused:
        await service.enter_assessments("T", [AssessmentRecord(**{**ROW, **row})])
    assert [(e.field, e.reason) for e in refused.value.errors] == [(field, reason)]


async def test_a_school_without_a_model_refuses_codes(service):
    await seed(service)
    with pytest.raises(BatchRejected) as refused:
        await service.enter_assessments("T", [AssessmentRecord(**ROW, code="JA")])
    assert [(e.field, e.value) for e in refused.value.errors] == [("code", "JA")]
