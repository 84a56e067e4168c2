"""The gateway forwards `/ingest/{path}` to the real ingest process: an API key or a signed-in
person's session (with its CSRF token) writes through the gateway exactly as at ingest itself, and
the forward grants nothing (ingest refuses whom it would refuse directly, with its own answer)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_identity.service import Identity

pytestmark = pytest.mark.e2e

TRUST = "trust-forward"
PASSWORD = "a long enough passphrase 42"
MAY_NOT_WRITE = {"detail": "this caller may not write tracker data (tracker:write: an ingest key or a teacher)"}
SCHOOL = [{"school_id": "FW-S1", "name": "Fen Primary"}]


def person(database_url: str, email: str, role: str, schools: list[str] | None) -> None:
    async def create() -> None:
        engine = create_async_engine(database_url)
        try:
            await Identity.on(engine).create_person(TRUST, "test", email, email.split("@")[0], role, schools, PASSWORD)
        finally:
            await engine.dispose()

    asyncio.run(create())


def signed_in(platform, email: str) -> tuple[httpx.Client, str]:  # type: ignore[no-untyped-def]
    client = httpx.Client(base_url=platform.gateway_url, timeout=30)
    answer = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client, answer.json()["csrf_token"]


def test_an_ingest_key_writes_through_the_gateway_and_gets_ingests_own_answers(platform) -> None:  # type: ignore[no-untyped-def]
    key = {"Authorization": f"Bearer {platform.tokens[TRUST]['ingest']}"}
    with httpx.Client(base_url=platform.gateway_url, headers=key, timeout=30) as gateway, platform.ingest(TRUST) as ingest:
        first = gateway.post("/ingest/v1/schools", json=SCHOOL)
        again = ingest.post("/v1/schools", json=SCHOOL)  # stored by ingest: the same batch changes nothing
        bad_row = [{**SCHOOL[0], "school_id": "bad id!"}]
        refused_through = gateway.post("/ingest/v1/schools", json=bad_row)
        refused_at_ingest = ingest.post("/v1/schools", json=bad_row)
        status = gateway.get("/ingest/status")

    assert (first.status_code, first.json()) == (200, {"received": 1, "changed": 1, "events": 1})
    assert (again.status_code, again.json()["changed"]) == (200, 0)
    assert refused_through.status_code == refused_at_ingest.status_code == 422
    assert refused_through.json() == refused_at_ingest.json()
    assert status.status_code == 200 and "outbox_backlog" in status.json()


def test_the_forward_grants_nothing_ingest_refuses_as_it_would_directly(platform) -> None:  # type: ignore[no-untyped-def]
    viewer = {"Authorization": f"Bearer {platform.tokens[TRUST]['viewer']}"}
    anonymous = httpx.post(f"{platform.gateway_url}/ingest/v1/schools", json=SCHOOL, timeout=30)
    reader = httpx.post(f"{platform.gateway_url}/ingest/v1/schools", json=SCHOOL, headers=viewer, timeout=30)

    assert (anonymous.status_code, anonymous.json()) == (401, {"detail": "not signed in: no API key and no session"})
    assert (reader.status_code, reader.json()) == (403, MAY_NOT_WRITE)


def test_a_session_passes_with_its_csrf_token_and_ingest_checks_the_persons_role(
    platform, platform_database: str  # type: ignore[no-untyped-def]
) -> None:
    person(platform_database, "fw-head@fen.org", "school_leader", ["FW-S1"])
    client, csrf = signed_in(platform, "fw-head@fen.org")
    try:
        without_csrf = client.post("/ingest/v1/assessments/lock", json={})
        with_csrf = client.post("/ingest/v1/assessments/lock", json={}, headers={"X-CSRF-Token": csrf})
    finally:
        client.close()

    assert (without_csrf.status_code, without_csrf.json()) == (
        403, {"detail": "missing or wrong X-CSRF-Token header (CSRF protection)"})
    # the session reached ingest, which knows the person and refuses the role, not the forward
    assert (with_csrf.status_code, with_csrf.json()) == (403, MAY_NOT_WRITE)


def test_a_teacher_writes_its_school_through_the_forward_with_its_session_and_no_other_school(
    platform, platform_database: str  # type: ignore[no-untyped-def]
) -> None:
    with platform.ingest(TRUST) as ingest:
        assert ingest.post("/v1/schools", json=[*SCHOOL, {"school_id": "FW-S2", "name": "Ash"}]).status_code == 200
    person(platform_database, "fw-teacher@fen.org", "teacher", ["FW-S1"])
    client, csrf = signed_in(platform, "fw-teacher@fen.org")
    scope = {"academic_year": "2025/26", "period": "AUT1"}
    try:
        own = client.post("/ingest/v1/assessments/lock", json={"school_id": "FW-S1", **scope},
                          headers={"X-CSRF-Token": csrf})
        other = client.post("/ingest/v1/assessments/lock", json={"school_id": "FW-S2", **scope},
                            headers={"X-CSRF-Token": csrf})
    finally:
        client.close()

    assert (own.status_code, own.json()) == (200, {"received": 0, "changed": 0, "events": 0})
    assert (other.status_code, other.json()) == (
        403, {"detail": "this caller may not write school 'FW-S2' (not in its scope)"})
