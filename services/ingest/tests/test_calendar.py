"""A Trust sets its own school dates (PUT /v1/calendar/{academic_year}) and reads them (GET): only a
trust_admin may set them; dates that break a rule are refused whole naming the field and the reason;
the same dates again change nothing and publish nothing; each change is one `calendar-set` event on
the pupils topic, keyed by the Trust, and the replay gives the Trust's dates before its other facts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tidemark_identity.adapters.store import AUDIT
from tidemark_ingest.adapters.store import OUTBOX
from tidemark_ingest.testing import TRUST, Ingest, in_process, ingest_settings
from tidemark_runtime.auth import CSRF_HEADER, SESSION_COOKIE
from tidemark_schemas import topics

YEAR = "2025/26"
DATES: dict[str, Any] = {
    "half_terms": {
        "AUT1": {"first_day": "2025-09-03", "last_day": "2025-10-17"},
        "AUT2": {"first_day": "2025-10-27", "last_day": "2025-12-19"},
        "SPR1": {"first_day": "2026-01-05", "last_day": "2026-02-13"},
        "SPR2": {"first_day": "2026-02-23", "last_day": "2026-03-27"},
        "SUM1": {"first_day": "2026-04-13", "last_day": "2026-05-22"},
        "SUM2": {"first_day": "2026-06-01", "last_day": "2026-07-22"},
    },
    "closures": ["2026-05-04"],
}
PASSWORD = "a long enough passphrase 42"
REPLAY_TOKEN = "replay"


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    async with in_process(ingest_settings(database_url, replay_token=REPLAY_TOKEN)) as running:
        yield running


async def person(ingest: Ingest, role: str, schools: list[str] | None = None) -> dict[str, str]:
    """Signed in as a new person of `role`: the session cookie and its CSRF header."""
    identity = ingest.services.identity
    email = f"{role}@calendar.example"
    await identity.create_person(TRUST, "user:setup", email, role.title(), role, schools, PASSWORD)
    signed_in = await identity.sign_in(email, PASSWORD, None)
    return {"Cookie": f"{SESSION_COOKIE}={signed_in.session_secret}", CSRF_HEADER: signed_in.csrf_token}


async def key(ingest: Ingest, role: str) -> dict[str, str]:
    created = await ingest.services.identity.create_key(TRUST, "user:setup", role, role, None)
    return {"Authorization": f"Bearer {created.key}"}


async def outbox(ingest: Ingest) -> list[tuple[str, str, dict[str, Any]]]:
    async with ingest.services.engine.connect() as connection:
        rows = await connection.execute(select(OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.payload).order_by(OUTBOX.c.id))
        return [(row.topic, row.key, json.loads(row.payload)) for row in rows]


def put(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any] = DATES, year: str = YEAR) -> Any:
    return client.put(f"/v1/calendar/{year}", json=body, headers=headers)


async def test_a_trust_admin_sets_its_dates_once_and_the_same_dates_again_change_nothing(ingest: Ingest) -> None:
    admin = await person(ingest, "trust_admin")

    first = await put(ingest.client, admin)
    again = await put(ingest.client, admin)
    moved = await put(ingest.client, admin, {**DATES, "closures": ["2026-05-04", "2025-11-14"]})
    shown = await ingest.client.get(f"/v1/calendar/{YEAR}", headers=admin)

    assert first.status_code == 200, first.text
    assert (first.json()["changed"], again.json()["changed"], moved.json()["changed"]) == (True, False, True)
    assert shown.json() == {"academic_year": YEAR, "source": "trust", "half_terms": DATES["half_terms"],
                            "closures": ["2025-11-14", "2026-05-04"], "version": 2}
    events = await outbox(ingest)
    assert [(topic, key, event["event_type"], event["version"]) for topic, key, event in events] == [
        (topics.PUPILS, TRUST, "calendar-set", 1), (topics.PUPILS, TRUST, "calendar-set", 2),
    ]
    assert events[1][2]["half_terms"]["AUT1"] == {"first_day": "2025-09-03", "last_day": "2025-10-17"}
    async with ingest.services.engine.connect() as connection:
        trail = [(row.action, row.detail["changed"]) for row in await connection.execute(
            select(AUDIT.c.action, AUDIT.c.detail).where(AUDIT.c.action == "calendar").order_by(AUDIT.c.id))]
    assert trail == [("calendar", True), ("calendar", False), ("calendar", True)]


async def test_a_year_the_trust_has_not_set_shows_the_english_default(ingest: Ingest) -> None:
    response = await ingest.client.get(f"/v1/calendar/{YEAR}", headers=await key(ingest, "reader"))

    assert response.status_code == 200
    body = response.json()
    assert (body["source"], body["version"], body["closures"]) == ("english_default", None, ["2026-05-04"])
    assert body["half_terms"]["AUT1"] == {"first_day": "2025-09-03", "last_day": "2025-10-24"}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"AUT1": {"first_day": "2025-09-03", "last_day": "2025-10-18"}}, "half_terms.AUT1.last_day",
         "AUT1 must start and end on a weekday (2025-10-18 is a Saturday)"),
        ({"AUT2": {"first_day": "2025-10-13", "last_day": "2025-12-19"}}, "half_terms.AUT2.first_day",
         "AUT2 must start after the half-term before it ends"),
        ({"SPR1": {"first_day": "2026-02-13", "last_day": "2026-01-05"}}, "half_terms.SPR1.last_day",
         "SPR1 ends before it starts"),
        ({"SUM2": {"first_day": "2026-06-01", "last_day": "2026-09-01"}}, "half_terms.SUM2.last_day",
         "SUM2 must lie within 2025/26 (1 September to 31 August)"),
    ],
)
async def test_dates_that_break_a_rule_are_refused_naming_the_field(
    ingest: Ingest, change: dict[str, Any], field: str, reason: str
) -> None:
    admin = await person(ingest, "trust_admin")
    response = await put(ingest.client, admin, {**DATES, "half_terms": {**DATES["half_terms"], **change}})

    assert response.status_code == 422
    assert {"row": None, "field": field, "reason": reason, "value": None} in response.json()["errors"]
    assert await outbox(ingest) == []


@pytest.mark.parametrize(
    ("body", "year", "field", "reason"),
    [
        ({**DATES, "closures": ["2026-05-09"]}, YEAR, "closures", "2026-05-09 is a Saturday: a closure is a weekday in term time"),
        ({**DATES, "closures": ["2025-10-21"]}, YEAR, "closures", "2025-10-21 is not in term time of 2025/26"),
        ({"closures": []}, YEAR, "half_terms", "Field required"),
        ({**DATES, "half_terms": {**DATES["half_terms"], "AUT1": {"first_day": "2025-09-03"}}}, YEAR,
         "half_terms.AUT1.last_day", "Field required"),
        ({**DATES, "half_terms": {**DATES["half_terms"], "AUT3": DATES["half_terms"]["AUT1"]}}, YEAR,
         "half_terms.AUT3", "Extra inputs are not permitted"),
        (DATES, "1999/00", "path.academic_year", "must be between 2000/01"),
        (DATES, "2025-26", "path.academic_year", "must look like 2025/26"),
    ],
)
async def test_a_malformed_body_or_year_is_refused_naming_the_field(
    ingest: Ingest, body: dict[str, Any], year: str, field: str, reason: str
) -> None:
    response = await put(ingest.client, await person(ingest, "trust_admin"), body, year)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and e["reason"].startswith(reason) for e in errors), errors


SETTERS = {"trust_admin"}
READERS = {"trust_admin", "trust_leader", "school_leader", "analyst", "reader"}


@pytest.mark.parametrize("caller", ["trust_admin", "trust_leader", "school_leader", "analyst", "ingest", "reader",
                                    "nobody"])
async def test_only_a_trust_admin_sets_the_dates_and_whoever_reads_figures_reads_them(
    ingest: Ingest, caller: str
) -> None:
    """The calendar routes' row of the authorisation matrix (people by session, keys by bearer)."""
    if caller in ("ingest", "reader"):
        headers = await key(ingest, caller)
    elif caller == "nobody":
        headers = {}
    else:
        headers = await person(ingest, caller, ["S1"] if caller == "school_leader" else None)

    setting = await put(ingest.client, headers)
    reading = await ingest.client.get(f"/v1/calendar/{YEAR}", headers=headers)

    unauthenticated = caller == "nobody"
    assert setting.status_code == (401 if unauthenticated else 200 if caller in SETTERS else 403), setting.text
    assert reading.status_code == (401 if unauthenticated else 200 if caller in READERS else 403), reading.text
    if caller not in SETTERS and not unauthenticated:
        assert setting.json() == {"detail": "only a trust_admin may set the Trust's school dates (calendar:write)"}
        assert await outbox(ingest) == []


async def test_a_session_without_its_csrf_token_may_not_set_the_dates(ingest: Ingest) -> None:
    admin = await person(ingest, "trust_admin")
    response = await put(ingest.client, {"Cookie": admin["Cookie"]})
    assert response.status_code == 403
    assert await outbox(ingest) == []


async def test_the_replay_gives_the_trusts_dates_before_its_other_facts(ingest: Ingest) -> None:
    await put(ingest.client, await person(ingest, "trust_admin"))
    await ingest.client.post("/v1/schools", json=[{"school_id": "S1", "name": "Oak"}],
                             headers=await key(ingest, "ingest"))

    page = await ingest.client.get("/v1/replay/facts", params={"trust_id": TRUST},
                                   headers={"Authorization": f"Bearer {REPLAY_TOKEN}"})

    assert page.status_code == 200, page.text
    assert [(f["event_type"], f.get("academic_year")) for f in page.json()["facts"]] == [
        ("calendar-set", YEAR), ("school-upserted", None),
    ]
