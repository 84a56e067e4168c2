"""Ingest accepts the same API keys as the gateway (from the SQL store, re-read on every request),
writes only a key's schools, records every batch, lock and unlock in the audit trail, and names the
actor in the events of locks and unlocks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from tidemark_identity.adapters.store import AUDIT
from tidemark_ingest.adapters.store import OUTBOX
from tidemark_ingest.testing import TRUST, Ingest, in_process, ingest_settings

SCHOOLS = [{"school_id": "S1", "name": "Oak"}, {"school_id": "S2", "name": "Ash"}]
PUPIL = {
    "pupil_id": "P1",
    "school_id": "S1",
    "year_group": "Y3",
    "sex": "F",
    "fsm6": False,
    "lac": False,
    "plac": False,
    "sen": "N",
    "eal": False,
    "ethnicity": "WBRI",
    "left_on": None,
}
RESULT = {
    "pupil_id": "P1",
    "school_id": "S1",
    "academic_year": "2025/26",
    "period": "AUT1",
    "year_group": "Y3",
    "subject": "reading",
    "band": "AT",
}
LOCK = {"school_id": "S1", "academic_year": "2025/26", "period": "AUT1"}


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    async with in_process(ingest_settings(database_url)) as running:
        yield running


async def key(ingest: Ingest, role: str = "ingest", schools: list[str] | None = None) -> dict[str, str]:
    created = await ingest.services.identity.create_key(TRUST, "user:admin", "tracker", role, schools)
    return {"Authorization": f"Bearer {created.key}"}


async def audit(ingest: Ingest) -> list[tuple[str, str | None, dict]]:
    async with ingest.services.engine.connect() as connection:
        rows = await connection.execute(
            select(AUDIT.c.action, AUDIT.c.school_id, AUDIT.c.detail).order_by(AUDIT.c.id)
        )
    return [(row.action, row.school_id, row.detail) for row in rows]


async def test_an_ingest_key_writes_until_it_is_revoked(ingest: Ingest) -> None:
    headers = await key(ingest)
    before = await ingest.client.post("/v1/schools", json=SCHOOLS, headers=headers)
    key_id = headers["Authorization"].split("_")[1]
    await ingest.services.identity.store.revoke_key(TRUST, key_id, ingest.services.identity.now())
    after = await ingest.client.post("/v1/schools", json=SCHOOLS, headers=headers)

    assert (before.status_code, after.status_code) == (200, 401)
    assert after.json() == {"detail": "unknown, expired or revoked API key"}


async def test_a_reader_key_may_not_write(ingest: Ingest) -> None:
    response = await ingest.client.post("/v1/schools", json=SCHOOLS, headers=await key(ingest, "reader"))
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "this caller may not write tracker data (tracker:write: an ingest key or a teacher)"},
    )


async def test_a_school_scoped_key_writes_only_its_schools(ingest: Ingest) -> None:
    await ingest.client.post("/v1/schools", json=SCHOOLS, headers=await key(ingest))
    scoped = await key(ingest, schools=["S1"])

    own = await ingest.client.post("/v1/pupils", json=[PUPIL], headers=scoped)
    other = await ingest.client.post(
        "/v1/pupils", json=[{**PUPIL, "pupil_id": "P2", "school_id": "S2"}], headers=scoped
    )
    lock = await ingest.client.post("/v1/assessments/lock", json={**LOCK, "school_id": "S2"}, headers=scoped)

    assert own.status_code == 200
    assert (other.status_code, other.json()) == (
        403,
        {"detail": "this caller may not write school 'S2' (not in its scope)"},
    )
    assert lock.status_code == 403


async def test_batches_locks_and_unlocks_are_audited_and_lock_events_name_the_actor(ingest: Ingest) -> None:
    headers = await key(ingest)
    actor = f"key:{headers['Authorization'].split('_')[1]}"
    await ingest.client.post("/v1/schools", json=SCHOOLS, headers=headers)
    await ingest.client.post("/v1/pupils", json=[PUPIL], headers=headers)
    refused = await ingest.client.post(
        "/v1/pupils", json=[{**PUPIL, "school_id": "S9"}, {"pupil_id": 1}], headers=headers
    )
    await ingest.client.post("/v1/assessments", json=[RESULT], headers=headers)
    await ingest.client.post("/v1/assessments/lock", json=LOCK, headers=headers)
    await ingest.client.post("/v1/assessments/unlock", json={**LOCK, "subject": "reading"}, headers=headers)

    trail = [entry for entry in await audit(ingest) if entry[0] != "key_created"]
    assert refused.status_code == 422
    assert [
        (action, school, detail.get("accepted"), detail.get("rows")) for action, school, detail in trail
    ] == [
        ("batch", None, True, 2),
        ("batch", None, True, 1),
        ("batch", None, False, 2),
        ("batch", None, True, 1),
        ("lock", "S1", True, None),
        ("unlock", "S1", True, None),
    ]
    assert {k: trail[4][2][k] for k in ("academic_year", "period", "results", "changed")} == {
        "academic_year": "2025/26",
        "period": "AUT1",
        "results": 1,
        "changed": 1,
    }
    assert trail[5][2]["subject"] == "reading"

    async with ingest.services.engine.connect() as connection:
        events = [
            json.loads(p)
            for p in (await connection.execute(select(OUTBOX.c.payload).order_by(OUTBOX.c.id))).scalars()
        ]
    by_type = {event["event_type"]: event for event in events}
    assert by_type["assessment-locked"]["actor_id"] == actor
    assert by_type["assessment-unlocked"]["actor_id"] == actor
    assert "actor_id" not in by_type["assessment-entered"]


async def test_a_configured_token_still_writes_as_the_development_fallback(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/v1/schools", json=SCHOOLS, headers={"Authorization": "Bearer ingest"}
    )
    assert response.status_code == 200
    assert [(action, detail["accepted"]) for action, _, detail in await audit(ingest)] == [("batch", True)]


async def test_register_marks_follow_the_keys_scope_and_every_batch_is_audited(ingest: Ingest) -> None:
    headers = await key(ingest)
    await ingest.client.post("/v1/schools", json=SCHOOLS, headers=headers)
    await ingest.client.post("/v1/pupils", json=[PUPIL], headers=headers)
    scoped = await key(ingest, schools=["S2"])
    mark = {"pupil_id": "P1", "school_id": "S1", "date": "2025-10-06", "session": "AM", "code": "/"}

    refused = await ingest.client.post("/v1/attendance", json=[mark], headers=scoped)
    accepted = await ingest.client.post("/v1/attendance", json=[mark, {**mark, "session": "PM"}], headers=headers)

    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "this caller may not write school 'S1' (not in its scope)"},
    )
    assert accepted.status_code == 200, accepted.text
    batches = [(detail["request"], detail["accepted"], detail["rows"]) for action, _, detail in await audit(ingest)
               if action == "batch"]
    assert batches[-1] == ("/v1/attendance", True, 2)
