"""Statutory results on a real PostgreSQL store: entered then locked like summative results, each value
checked against its component's code table, published as snapshots through the outbox, replayed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tidemark_ingest.adapters.store import OUTBOX, STATUTORY
from tidemark_ingest.service_layer.tracker import BatchRejected
from tidemark_ingest.testing import in_process, ingest_settings, running
from tidemark_schemas import topics
from tidemark_schemas.records import AssessmentRecord, PupilRecord, SchoolRecord
from tidemark_runtime.testing import scratch_database
from tidemark_schemas.statutory import COMPONENTS, Assessment, StatutoryLockScope, StatutoryRecord

TRUST = "T"
PUPIL = dict(
    pupil_id="P1", school_id="S1", year_group="Y6", sex="F", fsm6=False, lac=False, plac=False, sen="N",
    eal=False, ethnicity="WBRI", left_on=None,
)
READING = dict(
    pupil_id="P1", school_id="S1", academic_year="2025/26", assessment="ks2", component="reading_test",
    mark=35, scaled_score=104,
)
MATHS_ABSENT = {**READING, "component": "maths_test", "mark": None, "scaled_score": None, "code": "A"}
MTC = dict(pupil_id="P2", school_id="S1", academic_year="2025/26", assessment="mtc", component="score", mark=25)
SCOPE = StatutoryLockScope(school_id="S1", academic_year="2025/26")


@pytest.fixture
async def ingest(database_url):
    """Ingest built by `bootstrap` on a store with school S1 and pupils P1 (Year 6) and P2 (Year 4)."""
    async with running(ingest_settings(database_url)) as services:
        await services.tracker.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak")])
        pupils = [PupilRecord(**PUPIL), PupilRecord(**{**PUPIL, "pupil_id": "P2", "year_group": "Y4"})]
        await services.tracker.post_pupils(TRUST, pupils)
        yield services


@pytest.fixture
def service(ingest):
    return ingest.tracker


def rows(*rows: dict) -> list[StatutoryRecord]:
    return [StatutoryRecord(**row) for row in rows]


async def statutory_events(service) -> list[dict]:
    """The statutory events in the outbox, oldest first, with their topic and key."""
    async with service.sessions() as session:
        found = (
            await session.execute(
                select(OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.payload)
                .where(OUTBOX.c.topic == topics.STATUTORY)
                .order_by(OUTBOX.c.id)
            )
        ).all()
    return [{"topic": r.topic, "key": r.key, **json.loads(r.payload)} for r in found]


def summary(event: dict) -> tuple:
    return event["event_type"], event["component"], event["entered"], event["locked"], event["version"]


async def stored(service) -> dict[str, tuple]:
    """component -> (entered code, entered scaled score, locked code, locked scaled score, version)."""
    columns = STATUTORY.c
    async with service.sessions() as session:
        found = (
            await session.execute(
                select(columns.component, columns.entered_code, columns.entered_scaled_score, columns.locked_code,
                       columns.locked_scaled_score, columns.version)
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in found}


def value(mark=None, scaled_score=None, code=None) -> dict:
    return {"mark": mark, "scaled_score": scaled_score, "code": code}


# -- entry, lock, correction, unlock -------------------------------------------------------------


async def test_entry_then_lock_publishes_full_snapshots_keyed_by_pupil_with_growing_versions(service):
    entered = await service.enter_statutory(TRUST, rows(READING, MATHS_ABSENT))
    locked = await service.lock_statutory(TRUST, SCOPE)

    assert (entered.received, entered.changed, entered.events) == (2, 2, 2)
    assert (locked.received, locked.changed, locked.events) == (2, 2, 2)
    events = await statutory_events(service)
    fact_of = ("topic", "key", "trust_id", "school_id", "academic_year", "assessment")
    assert {tuple(e[name] for name in fact_of) for e in events} == {
        ("tracker.statutory.v1", "P1", "T", "S1", "2025/26", "ks2")
    }
    assert [summary(e) for e in events] == [
        ("statutory-entered", "reading_test", value(35, 104), None, 1),
        ("statutory-entered", "maths_test", value(code="A"), None, 1),
        ("statutory-locked", "reading_test", value(35, 104), value(35, 104), 2),
        ("statutory-locked", "maths_test", value(code="A"), value(code="A"), 2),
    ]
    assert await stored(service) == {
        "reading_test": (None, 104, None, 104, 2),
        "maths_test": ("A", None, "A", None, 2),
    }


async def test_re_sending_an_entry_or_a_lock_changes_and_publishes_nothing(service):
    await service.enter_statutory(TRUST, rows(READING))
    await service.lock_statutory(TRUST, SCOPE)

    again = await service.enter_statutory(TRUST, rows(READING))
    relocked = await service.lock_statutory(TRUST, SCOPE)

    assert (again.received, again.changed, again.events) == (1, 0, 0)
    assert (relocked.received, relocked.changed, relocked.events) == (1, 0, 0)
    assert [e["version"] for e in await statutory_events(service)] == [1, 2]


async def test_a_changed_entry_changes_only_the_draft_until_a_relock_corrects_the_counted_value(service):
    await service.enter_statutory(TRUST, rows(READING))
    await service.lock_statutory(TRUST, SCOPE)

    await service.enter_statutory(TRUST, rows({**READING, "mark": 41, "scaled_score": 110}))
    assert await stored(service) == {"reading_test": (None, 110, None, 104, 3)}
    corrected = await service.lock_statutory(TRUST, SCOPE)

    assert corrected.changed == 1
    assert [summary(e) for e in (await statutory_events(service))[2:]] == [
        ("statutory-entered", "reading_test", value(41, 110), value(35, 104), 3),
        ("statutory-locked", "reading_test", value(41, 110), value(41, 110), 4),
    ]


async def test_unlock_withdraws_the_counted_value_and_keeps_the_draft(service):
    await service.enter_statutory(TRUST, rows(READING))
    await service.lock_statutory(TRUST, SCOPE)

    unlocked = await service.unlock_statutory(TRUST, SCOPE)
    again = await service.unlock_statutory(TRUST, SCOPE)

    assert (unlocked.changed, again.changed) == (1, 0)
    assert summary((await statutory_events(service))[-1]) == (
        "statutory-unlocked", "reading_test", value(35, 104), None, 3
    )
    assert await stored(service) == {"reading_test": (None, 104, None, None, 3)}


async def test_a_lock_narrowed_to_one_assessment_locks_only_that_assessment(service):
    await service.enter_statutory(TRUST, rows(READING, MTC))

    outcome = await service.lock_statutory(TRUST, StatutoryLockScope(school_id="S1", academic_year="2025/26",
                                                                     assessment=Assessment.MTC))

    assert (outcome.received, outcome.changed) == (1, 1)
    last = (await statutory_events(service))[-1]
    assert (last["event_type"], last["key"], last["assessment"], last["locked"]) == (
        "statutory-locked", "P2", "mtc", value(mark=25)
    )
    assert (await stored(service))["reading_test"][2:] == (None, None, 1)  # still a draft


async def test_a_lock_of_an_unknown_school_is_refused(service):
    with pytest.raises(BatchRejected) as refused:
        await service.lock_statutory(TRUST, StatutoryLockScope(school_id="S9", academic_year="2025/26"))
    assert [(e.row, e.field, e.value) for e in refused.value.errors] == [(None, "school_id", "S9")]


async def test_ks2_code_t_is_stored_and_published_as_u_and_a_later_u_is_the_same_value(service):
    absent = {**MATHS_ABSENT, "code": "T"}
    await service.enter_statutory(TRUST, rows(absent))
    await service.lock_statutory(TRUST, SCOPE)
    resent_as_u = await service.enter_statutory(TRUST, rows({**absent, "code": "U"}))

    assert resent_as_u.changed == 0
    assert await stored(service) == {"maths_test": ("U", None, "U", None, 2)}
    assert [summary(e) for e in await statutory_events(service)] == [
        ("statutory-entered", "maths_test", value(code="U"), None, 1),
        ("statutory-locked", "maths_test", value(code="U"), value(code="U"), 2),
    ]


# -- validation: every bad row named, nothing stored ---------------------------------------------


@pytest.mark.parametrize(
    ("row", "field", "bad_value", "reason_part"),
    [
        ({"scaled_score": 130}, "scaled_score", 130, "outside 80..120"),
        ({"mark": None, "scaled_score": 104, "code": "A"}, "code", "A", "did not sit"),
        ({"mark": None, "scaled_score": None, "code": "X"}, "code", "X", "unknown code 'X'"),
        ({"component": "spelling_test"}, "component", "spelling_test", "unknown component 'spelling_test'"),
        ({"mark": 51}, "mark", 51, "outside 0..50"),
        ({"mark": 3, "scaled_score": 90, "code": "N"}, "scaled_score", 90, "no scaled score"),
        ({"mark": None, "scaled_score": None}, "code", None, "needs a mark, a scaled score or a code"),
        ({"component": "writing_ta", "mark": None}, "scaled_score", 104, "takes no scaled score"),
        ({"assessment": "mtc", "component": "score", "mark": 26, "scaled_score": None}, "mark", 26, "outside 0..25"),
        ({"assessment": "phonics", "component": "year1", "mark": 31, "scaled_score": None, "code": "Wa"},
         "code", "Wa", "mark 31 means Wt, not Wa"),
        ({"assessment": "eyfs", "component": "E18", "mark": None, "scaled_score": None, "code": "2"},
         "component", "E18", "unknown component"),
    ],
    ids=[
        "scaled-score-130", "ks2-score-with-absence-code", "unknown-code", "unknown-component", "ks2-mark-51",
        "code-n-with-scaled-score", "no-value", "ta-with-scaled-score", "mtc-26",
        "phonics-wa-with-31", "eyfs-goal-18",
    ],
)
async def test_an_invalid_value_rejects_the_whole_batch_naming_its_row_and_field(
    service, row, field, bad_value, reason_part
):
    with pytest.raises(BatchRejected) as refused:
        await service.enter_statutory(TRUST, rows(MTC, {**READING, **row}))

    assert [(e.row, e.field, e.value) for e in refused.value.errors] == [(1, field, bad_value)]
    assert reason_part in refused.value.errors[0].reason
    assert await statutory_events(service) == []  # not even the valid row 0


async def test_unknown_pupils_and_schools_and_repeated_facts_are_all_named_at_once(service):
    with pytest.raises(BatchRejected) as refused:
        await service.enter_statutory(TRUST, rows(
            READING,
            {**READING, "pupil_id": "P9", "component": "gps_test"},
            {**READING, "school_id": "S9", "component": "maths_test"},
            {**READING, "mark": 40, "scaled_score": 108},
            {**MTC, "mark": 26},
        ))

    assert [(e.row, e.field, e.value) for e in refused.value.errors] == [
        (1, "pupil_id", "P9"),
        (2, "school_id", "S9"),
        (4, "mark", 26),
        (3, "component", "reading_test"),
    ]
    assert refused.value.errors[-1].reason == "repeats row 0 of this batch"
    assert await stored(service) == {}


def every_code() -> list[tuple[str, str, str]]:
    return [
        (assessment.value, component, code)
        for assessment, components in COMPONENTS.items()
        for component, spec in components.items()
        for code in sorted(spec.codes)
    ]


@pytest.fixture(scope="module")
async def catalogue(postgres_url, migrated_template):
    """One store for the code catalogue, with one pupil per (assessment, component, code) case so the
    cases stay independent without a database each."""
    with scratch_database(postgres_url, template=migrated_template) as url:
        async with running(ingest_settings(url)) as services:
            service = services.tracker
            await service.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak")])
            pupils = [PupilRecord(**{**PUPIL, "pupil_id": ".".join(case)}) for case in every_code()]
            await service.post_pupils(TRUST, pupils)
            yield service


@pytest.mark.parametrize(
    ("assessment", "component", "code"), every_code(), ids=["-".join(case) for case in every_code()]
)
async def test_every_code_of_every_component_is_accepted(catalogue, assessment, component, code):
    pupil_id = f"{assessment}.{component}.{code}"
    row = dict(
        pupil_id=pupil_id, school_id="S1", academic_year="2025/26", assessment=assessment, component=component
    )
    batch = rows({**row, "code": code})
    spec = COMPONENTS[Assessment(assessment)][component]
    if code in spec.codes_with_mark:  # also with a mark it may come with (Wa: the top mark, which passes)
        assert spec.marks is not None
        mark = spec.marks[1] if code == "Wa" else spec.marks[0]
        batch.append(StatutoryRecord(**{**row, "academic_year": "2024/25", "code": code, "mark": mark}))

    outcome = await catalogue.enter_statutory(TRUST, batch)

    assert outcome.changed == len(batch)
    published = [e["entered"]["code"] for e in await statutory_events(catalogue) if e["key"] == pupil_id]
    assert published == [(spec.aliases or {}).get(code, code)] * len(batch)


def test_every_component_and_code_is_covered():
    assert len(every_code()) == sum(len(spec.codes) for c in COMPONENTS.values() for spec in c.values())
    assert {a for a, _c, _code in every_code()} == {a.value for a in Assessment}


# -- replay ---------------------------------------------------------------------------------------


async def test_replay_yields_every_statutory_fact_after_the_summative_results_as_its_current_snapshot(ingest, service):
    await service.enter_assessments(TRUST, [AssessmentRecord(
        pupil_id="P1", school_id="S1", academic_year="2025/26", period="AUT1", year_group="Y6", subject="reading",
        band="AT",
    )])
    await service.enter_statutory(TRUST, rows(READING, MTC))
    await service.lock_statutory(TRUST, SCOPE.model_copy(update={"assessment": Assessment.KS2}))
    await service.enter_statutory(TRUST, rows({**READING, "mark": 41, "scaled_score": 110}))

    pages, cursor = [], None
    while True:  # one fact a page: every page boundary is crossed, across the four tables
        page, cursor = await ingest.replay.page(TRUST, cursor, limit=1)
        pages.append(page)
        if cursor is None:
            break

    assert [len(page) for page in pages] == [1, 1, 1, 1, 1, 1, 0]
    events = [event for page in pages for event in page]
    assert [e.event_type for e in events] == [
        "school-upserted", "pupil-upserted", "pupil-upserted", "assessment-entered",
        "statutory-locked", "statutory-entered",
    ]
    reading, mtc = events[-2:]
    assert (reading.pupil_id, reading.component, reading.entered.scaled_score, reading.locked.scaled_score,
            reading.version) == ("P1", "reading_test", 110, 104, 3)
    assert (mtc.pupil_id, mtc.assessment, mtc.entered.mark, mtc.locked, mtc.version) == ("P2", "mtc", 25, None, 1)


# -- HTTP -----------------------------------------------------------------------------------------


@pytest.fixture
async def client(service, database_url):
    """The app, built by `bootstrap` on the same store (a stand-in broker: nothing here needs Kafka),
    called in-process through ASGI with an ingest token."""
    async with in_process(ingest_settings(database_url), headers={"Authorization": "Bearer ingest"}) as running_app:
        yield running_app.client


async def test_http_a_refused_batch_names_row_field_and_reason_for_structural_and_value_errors(client):
    response = await client.post("/v1/statutory", json=[
        READING,
        {**READING, "component": "maths_test", "scaled_score": 130},
        {**READING, "component": "gps_test", "mark": "many"},
        {**MTC, "pupil_id": "P9"},
    ])

    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "the batch was rejected whole; nothing from it was stored"
    assert [(e["row"], e["field"], e["value"]) for e in body["errors"]] == [
        (1, "scaled_score", 130),
        (2, "mark", "many"),
        (3, "pupil_id", "P9"),
    ]
    assert body["errors"][0]["reason"] == "scaled score 130 is outside 80..120"


async def test_http_entry_lock_and_unlock_answer_with_counts(client):
    entered = await client.post("/v1/statutory", json=[READING, {**MATHS_ABSENT, "code": "T"}])
    refused = await client.post("/v1/statutory", json=[{**MTC, "mark": 26}])
    locked = await client.post("/v1/statutory/lock", json={"school_id": "S1", "academic_year": "2025/26",
                                                           "assessment": "ks2"})
    unlocked = await client.post("/v1/statutory/unlock", json={"school_id": "S1", "academic_year": "2025/26"})
    unknown = await client.post("/v1/statutory/lock", json={"school_id": "S9", "academic_year": "2025/26"})

    assert (entered.status_code, entered.json()) == (200, {"received": 2, "changed": 2, "events": 2})
    assert refused.status_code == 422
    assert [(e["row"], e["field"]) for e in refused.json()["errors"]] == [(0, "mark")]
    assert (locked.status_code, locked.json()) == (200, {"received": 2, "changed": 2, "events": 2})
    assert (unlocked.status_code, unlocked.json()) == (200, {"received": 2, "changed": 2, "events": 2})
    assert (unknown.status_code, unknown.json()["errors"]) == (
        422, [{"row": None, "field": "school_id", "reason": "unknown school for this Trust", "value": "S9"}]
    )


async def test_http_statutory_needs_an_ingest_token(client):
    response = await client.post("/v1/statutory", json=[READING], headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
