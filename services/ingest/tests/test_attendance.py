"""Register marks (issue 12): POST /v1/attendance validates the batch whole (422 naming row and
field, nothing stored), a correction replaces a mark, a re-sent mark changes nothing, events go
through the outbox on the attendance topic keyed by pupil, and the replay carries the marks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import func, select

from tidemark_ingest.adapters.attendance_store import ATTENDANCE
from tidemark_ingest.adapters.store import OUTBOX
from tidemark_ingest.domain.attendance import year_group_on
from tidemark_ingest.testing import TRUST, Ingest, in_process, ingest_settings
from tidemark_schemas import topics
from tidemark_schemas.calendar import academic_year_of, monday_of, parse_academic_year
from tidemark_schemas.records import PupilRecord, SchoolRecord
from tidemark_schemas.vocabulary import YearGroup

TODAY = date.today()
THIS_YEAR = parse_academic_year(academic_year_of(TODAY))


def first_monday(year: int, month: int = 9) -> date:
    return monday_of(date(year, month, 7))


MONDAY = first_monday(THIS_YEAR)
"""The first Monday of the current academic year."""
PUPIL = dict(pupil_id="P1", school_id="S1", year_group="Y3", sex="F", fsm6=False, lac=False, plac=False, sen="N",
             eal=False, ethnicity="WBRI", left_on=None)


def mark(pupil_id: str = "P1", day: date = MONDAY, session: str = "AM", code: str = "/", school_id: str = "S1") -> dict:
    return {"pupil_id": pupil_id, "school_id": school_id, "date": day.isoformat(), "session": session, "code": code}


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    async with in_process(ingest_settings(database_url, replay_token="replay"),
                          headers={"Authorization": "Bearer ingest"}) as app:
        await app.services.tracker.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak")])
        await app.services.tracker.post_pupils(TRUST, [
            PupilRecord(**PUPIL),
            PupilRecord(**{**PUPIL, "pupil_id": "P2", "year_group": "R"}),
            PupilRecord(**{**PUPIL, "pupil_id": "P3", "left_on": MONDAY}),
            PupilRecord(**{**PUPIL, "pupil_id": "P4", "year_group": "Y2", "left_on": first_monday(THIS_YEAR, 3)}),
        ])
        yield app


async def attendance_events(app: Ingest) -> list[dict]:
    async with app.services.tracker.sessions() as session:
        rows = (await session.execute(select(OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.payload)
                                      .where(OUTBOX.c.topic == topics.ATTENDANCE).order_by(OUTBOX.c.id))).all()
    return [{"key": r.key, **json.loads(r.payload)} for r in rows]


async def stored_marks(app: Ingest) -> int:
    async with app.services.tracker.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(ATTENDANCE))).scalar_one())


def test_a_pupils_year_group_in_an_earlier_year_is_one_less_per_year() -> None:
    today = date(2026, 3, 2)
    assert year_group_on(YearGroup.Y3, date(2025, 9, 8), today) is YearGroup.Y3
    assert year_group_on(YearGroup.Y3, date(2025, 7, 1), today) is YearGroup.Y2
    assert year_group_on(YearGroup.Y3, date(2022, 9, 5), today) is YearGroup.R
    assert year_group_on(YearGroup.Y3, date(2021, 9, 6), today) is None
    assert year_group_on(YearGroup.Y6, date(2026, 9, 7), today) is None


async def test_a_days_register_is_stored_and_published_keyed_by_pupil(ingest: Ingest) -> None:
    answer = await ingest.client.post("/v1/attendance", json=[mark(), mark(session="PM", code="\\"),
                                                               mark("P2", code="X")])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 3, "changed": 3, "events": 3}
    events = await attendance_events(ingest)
    assert [(e["key"], e["event_type"], e["session"], e["code"], e["year_group"], e["version"]) for e in events] == [
        ("P1", "attendance-marked", "AM", "/", "Y3", 1),
        ("P1", "attendance-marked", "PM", "\\", "Y3", 1),
        ("P2", "attendance-marked", "AM", "X", "R", 1),
    ]


async def test_a_correction_replaces_the_mark_and_a_resent_mark_changes_nothing(ingest: Ingest) -> None:
    await ingest.client.post("/v1/attendance", json=[mark(), mark(session="PM", code="\\")])
    again = await ingest.client.post("/v1/attendance", json=[mark(), mark(session="PM", code="\\")])
    assert again.json() == {"received": 2, "changed": 0, "events": 0}
    corrected = await ingest.client.post("/v1/attendance", json=[mark(), mark(session="PM", code="I")])
    assert corrected.json() == {"received": 2, "changed": 1, "events": 1}
    assert [(e["session"], e["code"], e["version"]) for e in await attendance_events(ingest)] == [
        ("AM", "/", 1), ("PM", "\\", 1), ("PM", "I", 2)]
    assert await stored_marks(ingest) == 2


async def test_an_earlier_years_mark_carries_that_years_year_group(ingest: Ingest) -> None:
    last_year = first_monday(THIS_YEAR, 3)
    assert (await ingest.client.post("/v1/attendance", json=[mark(day=last_year, code="I")])).status_code == 200
    assert [e["year_group"] for e in await attendance_events(ingest)] == ["Y2"]


async def test_a_leavers_marks_take_the_year_group_of_the_year_they_left(ingest: Ingest) -> None:
    """P4 left last March in Year 2 (the record keeps the year group they left from)."""
    answer = await ingest.client.post("/v1/attendance", json=[mark("P4", day=first_monday(THIS_YEAR - 1), code="I")])
    assert answer.status_code == 200, answer.text
    assert [e["year_group"] for e in await attendance_events(ingest)] == ["Y2"]
    after = await ingest.client.post("/v1/attendance", json=[mark("P4", day=first_monday(THIS_YEAR, 6))])
    assert [(e["row"], e["field"]) for e in after.json()["errors"]] == [(0, "date")]


async def test_every_bad_row_is_named_and_nothing_is_stored(ingest: Ingest) -> None:
    saturday = MONDAY.replace(day=MONDAY.day + 5)
    first = parse_academic_year("2000/01")
    answer = await ingest.client.post("/v1/attendance", json=[
        mark(),                                                   # 0 fine
        mark(code="Q9"),                                          # 1 unknown code
        mark(day=saturday),                                       # 2 a weekend
        mark("P9"),                                               # 3 unknown pupil
        mark(session="PM", school_id="S9"),                       # 4 unknown school
        mark("P3", day=MONDAY.replace(day=MONDAY.day + 1)),       # 5 left the day before
        mark("P2", day=first_monday(THIS_YEAR - 1)),              # 6 before Reception
        mark(day=date(first - 1, 9, 4)),                          # 7 before the years held
        mark(),                                                   # 8 the same session twice
        mark(code="H"),                                           # 9 retired in 2024
        mark(session="XX"),                                       # 10 no session
    ])
    assert answer.status_code == 422
    errors = {(e["row"], e["field"]) for e in answer.json()["errors"]}
    assert errors == {(1, "code"), (2, "date"), (3, "pupil_id"), (4, "school_id"), (5, "date"), (6, "date"),
                      (7, "date"), (8, "session"), (9, "code"), (10, "session")}
    reasons = {e["row"]: e["reason"] for e in answer.json()["errors"]}
    assert "not on roll" in reasons[5] and "not on roll" in reasons[6] and "retired" in reasons[9]
    assert await stored_marks(ingest) == 0 and await attendance_events(ingest) == []


async def test_marks_need_the_tracker_write_permission(ingest: Ingest) -> None:
    refused = await ingest.client.post("/v1/attendance", json=[mark()], headers={"Authorization": "Bearer viewer"})
    assert refused.status_code == 403
    assert await stored_marks(ingest) == 0


async def test_the_replay_carries_the_marks_after_the_other_facts(ingest: Ingest) -> None:
    await ingest.client.post("/v1/attendance", json=[mark(), mark(session="PM", code="L"), mark("P2", code="X")])
    await ingest.client.post("/v1/attendance", json=[mark(session="PM", code="U")])
    facts, cursor = [], None
    while True:
        params = {"trust_id": TRUST, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await ingest.client.get("/v1/replay/facts", params=params,
                                        headers={"Authorization": "Bearer replay"})).json()
        facts += page["facts"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    marks = [(f["pupil_id"], f["session"], f["code"], f["version"]) for f in facts
             if f["event_type"] == "attendance-marked"]
    assert marks == [("P1", "AM", "/", 1), ("P1", "PM", "U", 2), ("P2", "AM", "X", 1)]
    assert facts[-1]["event_type"] == "attendance-marked" and facts[0]["event_type"] == "school-upserted"
