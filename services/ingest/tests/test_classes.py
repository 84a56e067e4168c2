"""Classes and assessment dates on the real SQL store (issue 14, point 1): a batch of classes is
refused whole naming row and field and stores nothing, the same batch again changes nothing; a
pupil's class is kept per academic year (a move replaces that year's, past years keep theirs),
carried in the pupil's events and the replay; every entry records its assessment date (sent, or
the day it is entered, kept when the value is unchanged); the entry sheets (`GET /v1/entry/...`)
read a class's or year group's entries back with their dates; and a lock or unlock naming a class
changes its pupils' results only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tidemark_ingest.adapters.store import CLASS, OUTBOX
from tidemark_ingest.adapters.store import PUPIL as PUPIL_TABLE
from tidemark_ingest.testing import TRUST, Ingest, in_process, ingest_settings
from tidemark_schemas.calendar import academic_year_of, format_academic_year, parse_academic_year
from tidemark_schemas.records import SchoolRecord
from tidemark_schemas.vocabulary import PRIMARY_SUBJECTS

INGEST = {"Authorization": "Bearer ingest"}
THIS_YEAR = academic_year_of(date.today())
LAST_YEAR = format_academic_year(parse_academic_year(THIS_YEAR) - 1)
CLASSES = [
    {"class_id": "S1-3A", "school_id": "S1", "academic_year": THIS_YEAR, "name": "3A", "year_groups": ["Y3"]},
    {"class_id": "S1-3B", "school_id": "S1", "academic_year": THIS_YEAR, "name": "3B", "year_groups": ["Y3"]},
    {"class_id": "S1-2A-old", "school_id": "S1", "academic_year": LAST_YEAR, "name": "2A", "year_groups": ["Y2"]},
    {"class_id": "S2-3A", "school_id": "S2", "academic_year": THIS_YEAR, "name": "3A", "year_groups": ["Y3", "Y4"]},
]
PUPIL = dict(pupil_id="P1", school_id="S1", year_group="Y3", sex="F", fsm6=False, lac=False, plac=False, sen="N",
             eal=False, ethnicity="WBRI", left_on=None)


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    async with in_process(ingest_settings(database_url, replay_token="replay")) as app:
        await app.services.tracker.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak"),
                                                        SchoolRecord(school_id="S2", name="Ash")])
        yield app


async def post(ingest: Ingest, path: str, body: object) -> tuple[int, dict]:
    response = await ingest.client.post(path, json=body, headers=INGEST)
    return response.status_code, response.json()


async def stored(ingest: Ingest, *columns: object) -> list[tuple]:
    async with ingest.services.engine.connect() as connection:
        return [tuple(r) for r in await connection.execute(select(*columns))]


async def events(ingest: Ingest, event_type: str) -> list[dict]:
    async with ingest.services.engine.connect() as connection:
        payloads = [json.loads(r[0]) for r in await connection.execute(select(OUTBOX.c.payload).order_by(OUTBOX.c.id))]
    return [p for p in payloads if p["event_type"] == event_type]


async def test_a_batch_of_classes_is_stored_once_and_published_on_the_schools_topic(ingest: Ingest) -> None:
    first = await post(ingest, "/v1/classes", CLASSES)
    again = await post(ingest, "/v1/classes", CLASSES)
    renamed = await post(ingest, "/v1/classes", [{**CLASSES[0], "name": "Oak class"}])

    assert (first[0], first[1]["changed"], again[1]["changed"], renamed[1]["changed"]) == (200, 4, 0, 1)
    assert sorted(await stored(ingest, CLASS.c.class_id, CLASS.c.name, CLASS.c.version)) == [
        ("S1-2A-old", "2A", 1), ("S1-3A", "Oak class", 2), ("S1-3B", "3B", 1), ("S2-3A", "3A", 1)]
    published = await events(ingest, "class-upserted")
    assert [(e["class_id"], e["name"], e["year_groups"], e["version"]) for e in published][-1] == (
        "S1-3A", "Oak class", ["Y3"], 2)


async def test_a_bad_batch_of_classes_names_every_row_and_field_and_stores_nothing(ingest: Ingest) -> None:
    await post(ingest, "/v1/classes", CLASSES[:1])
    status, body = await post(ingest, "/v1/classes", [
        {**CLASSES[1], "school_id": "S9"},                       # unknown school
        {**CLASSES[0], "academic_year": LAST_YEAR},              # a class keeps its year
        {**CLASSES[3], "year_groups": []},                       # teaches nothing
        {**CLASSES[3], "class_id": "S2-X", "year_groups": ["Y3", "Y3"]},
        CLASSES[2], CLASSES[2],                                  # the same class twice
    ])

    assert status == 422
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (0, "school_id"), (1, "academic_year"), (2, "year_groups"), (3, "year_groups"), (5, "class_id")]
    assert await stored(ingest, CLASS.c.class_id) == [("S1-3A",)]


async def test_a_pupils_class_is_kept_per_academic_year_and_a_move_replaces_only_that_years(ingest: Ingest) -> None:
    await post(ingest, "/v1/classes", CLASSES)
    await post(ingest, "/v1/pupils", [{**PUPIL, "class_id": "S1-2A-old"}])
    await post(ingest, "/v1/pupils", [{**PUPIL, "class_id": "S1-3A"}])
    moved = await post(ingest, "/v1/pupils", [{**PUPIL, "class_id": "S1-3B"}])
    unchanged = await post(ingest, "/v1/pupils", [PUPIL])  # no class_id: membership unchanged

    assert (moved[1]["changed"], unchanged[1]["changed"]) == (1, 0)
    assert await stored(ingest, PUPIL_TABLE.c.classes, PUPIL_TABLE.c.version) == [({LAST_YEAR: "S1-2A-old", THIS_YEAR: "S1-3B"}, 3)]
    assert [e["classes"] for e in await events(ingest, "pupil-upserted")] == [
        {LAST_YEAR: "S1-2A-old"}, {LAST_YEAR: "S1-2A-old", THIS_YEAR: "S1-3A"},
        {LAST_YEAR: "S1-2A-old", THIS_YEAR: "S1-3B"}]

    left_class = await post(ingest, "/v1/pupils", [{**PUPIL, "class_id": None}])
    assert left_class[1]["changed"] == 1
    assert await stored(ingest, PUPIL_TABLE.c.classes) == [({LAST_YEAR: "S1-2A-old"},)]


async def test_a_pupils_class_must_be_known_and_this_years_of_their_own_school(ingest: Ingest) -> None:
    await post(ingest, "/v1/classes", CLASSES)
    status, body = await post(ingest, "/v1/pupils", [
        {**PUPIL, "class_id": "NOPE"}, {**PUPIL, "pupil_id": "P2", "class_id": "S2-3A"},
        {**PUPIL, "pupil_id": "P3", "school_id": "S2", "class_id": "S1-2A-old"},  # last year's, another school: fine
    ])

    assert status == 422
    assert [(e["row"], e["field"], e["reason"]) for e in body["errors"]] == [
        (0, "class_id", "unknown class for this Trust: post it to /v1/classes first"),
        (1, "class_id", f"class S2-3A is a class of school S2 in {THIS_YEAR}, not of the pupil's school S1")]
    assert await stored(ingest, PUPIL_TABLE.c.pupil_id) == []


async def test_the_replay_gives_classes_after_schools_and_the_pupils_classes(ingest: Ingest) -> None:
    await post(ingest, "/v1/classes", CLASSES[:1])
    await post(ingest, "/v1/pupils", [{**PUPIL, "class_id": "S1-3A"}])

    page = (await ingest.client.get(f"/v1/replay/facts?trust_id={TRUST}",
                                    headers={"Authorization": "Bearer replay"})).json()

    assert [f["event_type"] for f in page["facts"]] == ["school-upserted", "school-upserted", "class-upserted",
                                                         "pupil-upserted"]
    assert page["facts"][3]["classes"] == {THIS_YEAR: "S1-3A"}


async def test_an_entry_records_its_assessment_date_sent_or_the_day_it_is_entered(ingest: Ingest) -> None:
    await post(ingest, "/v1/pupils", [PUPIL])
    result = dict(pupil_id="P1", school_id="S1", academic_year=THIS_YEAR, period="AUT1", year_group="Y3",
                  subject="reading", band="AT")
    last_year = {**result, "academic_year": LAST_YEAR, "year_group": "Y2"}
    dated = {**result, "subject": "maths", "assessed_on": date.today().isoformat()}
    await post(ingest, "/v1/assessments", [result, last_year, dated])
    again = await post(ingest, "/v1/assessments", [result, last_year])  # the same entries a day later: unchanged

    read = (await ingest.client.get("/v1/entry/summative", headers=INGEST,
                                    params={"school_id": "S1", "academic_year": THIS_YEAR, "period": "AUT1"})).json()
    assert again[1]["changed"] == 0
    assert {r["subject"]: r["assessed_on"] for r in read["results"]} == {
        "maths": date.today().isoformat(), "reading": date.today().isoformat()}
    old = (await ingest.client.get("/v1/entry/summative", headers=INGEST,
                                   params={"school_id": "S1", "academic_year": LAST_YEAR, "period": "AUT1"})).json()
    assert [r["assessed_on"] for r in old["results"]] == [f"{int(LAST_YEAR[:4]) + 1}-08-31"]


async def test_an_assessment_date_in_the_future_or_outside_the_entrys_year_is_refused(ingest: Ingest) -> None:
    await post(ingest, "/v1/pupils", [PUPIL])
    result = dict(pupil_id="P1", school_id="S1", academic_year=THIS_YEAR, period="AUT1", year_group="Y3",
                  subject="reading", band="AT")
    status, body = await post(ingest, "/v1/assessments", [
        {**result, "assessed_on": (date.today() + timedelta(days=1)).isoformat()},
        {**result, "subject": "maths", "assessed_on": f"{int(LAST_YEAR[:4])}-10-01"},
    ])
    statutory = await post(ingest, "/v1/statutory", [dict(
        pupil_id="P1", school_id="S1", academic_year=THIS_YEAR, assessment="mtc", component="score", mark=20,
        assessed_on=f"{int(LAST_YEAR[:4])}-10-01")])

    assert status == 422
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(0, "assessed_on"), (1, "assessed_on")]
    assert "is in the future" in body["errors"][0]["reason"]
    assert body["errors"][1]["reason"] == f"{int(LAST_YEAR[:4])}-10-01 is not in the academic year {THIS_YEAR} of the entry"
    assert (statutory[0], [e["field"] for e in statutory[1]["errors"]]) == (422, ["assessed_on"])


async def test_the_sheets_read_back_a_classs_pupils_and_their_entries_with_their_dates(ingest: Ingest) -> None:
    await post(ingest, "/v1/classes", CLASSES)
    await post(ingest, "/v1/pupils", [{**PUPIL, "class_id": "S1-3A"}, {**PUPIL, "pupil_id": "P2", "class_id": "S1-3B"},
                                      {**PUPIL, "pupil_id": "P3", "year_group": "Y4"}])
    entry = dict(school_id="S1", academic_year=THIS_YEAR, period="AUT1", year_group="Y3", subject="reading",
                 band="AT", assessed_on=date.today().isoformat())
    await post(ingest, "/v1/assessments", [{**entry, "pupil_id": "P1"}, {**entry, "pupil_id": "P2", "band": "BELOW"}])
    await post(ingest, "/v1/statutory", [dict(pupil_id="P1", school_id="S1", academic_year=THIS_YEAR,
                                              assessment="mtc", component="score", mark=20)])
    params = {"school_id": "S1", "academic_year": THIS_YEAR, "period": "AUT1"}

    by_class = (await ingest.client.get("/v1/entry/summative", headers=INGEST,
                                        params={**params, "class_id": "S1-3A"})).json()
    by_year = (await ingest.client.get("/v1/entry/summative", headers=INGEST,
                                       params={**params, "year_group": "Y3"})).json()
    statutory = (await ingest.client.get("/v1/entry/statutory", headers=INGEST, params={
        "school_id": "S1", "academic_year": THIS_YEAR, "assessment": "mtc", "class_id": "S1-3A"}))
    unknown = await ingest.client.get("/v1/entry/summative", headers=INGEST, params={**params, "class_id": "S2-3A"})

    assert [c["class_id"] for c in by_class["classes"]] == ["S1-3A", "S1-3B"]
    assert [(p["pupil_id"], p["class_id"]) for p in by_class["pupils"]] == [("P1", "S1-3A")]
    assert [(r["pupil_id"], r["band"], r["assessed_on"]) for r in by_class["results"]] == [
        ("P1", "AT", date.today().isoformat())]
    assert by_class["missing"] == len(PRIMARY_SUBJECTS) - 1  # P1's others (a class alone: its year groups' subjects)
    assert [p["pupil_id"] for p in by_year["pupils"]] == ["P1", "P2"]
    assert [(r["pupil_id"], r["component"], r["entered"]["mark"], r["assessed_on"]) for r in statutory.json()["results"]
            ] == [("P1", "score", 20, date.today().isoformat())]
    assert (unknown.status_code, [e["loc"] for e in unknown.json()["detail"]]) == (422, [["query", "class_id"]])


async def test_a_lock_naming_a_class_locks_its_pupils_results_only_and_its_unlock_unlocks_them(ingest: Ingest) -> None:
    await post(ingest, "/v1/classes", CLASSES)
    await post(ingest, "/v1/pupils", [{**PUPIL, "class_id": "S1-3A"}, {**PUPIL, "pupil_id": "P2", "class_id": "S1-3B"},
                                      {**PUPIL, "pupil_id": "P3"}])
    entry = dict(school_id="S1", academic_year=THIS_YEAR, period="AUT1", year_group="Y3", subject="reading", band="AT")
    await post(ingest, "/v1/assessments", [{**entry, "pupil_id": p} for p in ("P1", "P2", "P3")])
    await post(ingest, "/v1/statutory", [dict(pupil_id=p, school_id="S1", academic_year=THIS_YEAR, assessment="mtc",
                                              component="score", mark=20) for p in ("P1", "P2")])
    scope = {"school_id": "S1", "academic_year": THIS_YEAR, "period": "AUT1"}

    locked = await post(ingest, "/v1/assessments/lock", {**scope, "class_id": "S1-3A"})
    statutory = await post(ingest, "/v1/statutory/lock", {"school_id": "S1", "academic_year": THIS_YEAR,
                                                          "class_id": "S1-3B"})
    sheet = (await ingest.client.get("/v1/entry/summative", headers=INGEST, params=scope)).json()
    marks = (await ingest.client.get("/v1/entry/statutory", headers=INGEST, params={
        "school_id": "S1", "academic_year": THIS_YEAR, "assessment": "mtc"})).json()
    unlocked = await post(ingest, "/v1/assessments/unlock", {**scope, "class_id": "S1-3A"})
    other_school = await post(ingest, "/v1/assessments/lock", {**scope, "class_id": "S2-3A"})
    last_year = await post(ingest, "/v1/assessments/lock", {**scope, "class_id": "S1-2A-old"})

    assert (locked[0], locked[1]["changed"], statutory[1]["changed"]) == (200, 1, 1)
    assert {r["pupil_id"]: r["state"] for r in sheet["results"]} == {"P1": "locked", "P2": "draft", "P3": "draft"}
    assert {r["pupil_id"]: r["state"] for r in marks["results"]} == {"P1": "draft", "P2": "locked"}
    assert unlocked[1]["changed"] == 1
    assert (other_school[0], [(e["field"], e["value"]) for e in other_school[1]["errors"]]) == (
        422, [("class_id", "S2-3A")])
    assert other_school[1]["errors"][0]["reason"] == f"not a class of school S1 in {THIS_YEAR}"
    assert last_year[0] == 422
