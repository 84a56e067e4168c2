"""A Trust's own dates, end to end: a trust_admin sets them on ingest, the running metrics process
re-dates the Trust's attendance, and the gateway's reports and calendar follow: the marks of a week
that the English default puts in AUT1 are in AUT2 by the Trust's dates, and so are the marks that
arrive afterwards."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_identity.service import Identity
from tidemark_runtime.auth import CSRF_HEADER, SESSION_COOKIE
from tidemark_runtime.settings import asyncpg_url
from tidemark_runtime.testing import eventually
from tidemark_schemas.calendar import PeriodCalendar, academic_year_of, english_default
from tidemark_schemas.records import CalendarRecord, HalfTermDates, TermDates

pytestmark = pytest.mark.e2e

TRUST, SCHOOL = "trust-calendar", "CAL-S1"
PASSWORD = "a long enough passphrase 42"


async def signed_in_admin(database_url: str) -> dict[str, str]:
    """A trust_admin of the Trust, signed in: the session cookie and its CSRF header."""
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        identity = Identity.on(engine)
        await identity.create_person(TRUST, "user:setup", "admin@calendar.example", "Admin", "trust_admin", None, PASSWORD)
        signed_in = await identity.sign_in("admin@calendar.example", PASSWORD, None)
    finally:
        await engine.dispose()
    return {"Cookie": f"{SESSION_COOKIE}={signed_in.session_secret}", CSRF_HEADER: signed_in.csrf_token}


def test_a_trust_sets_its_dates_and_its_attendance_is_counted_by_them(platform):
    year = academic_year_of(date.today())
    default = english_default(year)
    aut1_end = default.half_terms[0].last_day  # a Friday
    moved = aut1_end - timedelta(days=4)  # the Monday of the default's last AUT1 week
    assert PeriodCalendar().period_of(moved).period == "AUT1"
    record = CalendarRecord.of(default)
    own = record.model_copy(update={"half_terms": HalfTermDates(**{
        **dict(record.half_terms),
        "AUT1": TermDates(first_day=default.half_terms[0].first_day, last_day=aut1_end - timedelta(days=14)),
        "AUT2": TermDates(first_day=moved, last_day=default.half_terms[1].last_day),
    })})
    admin = asyncio.run(signed_in_admin(platform.env["DATABASE_URL"]))

    def sessions(period: str) -> int:
        with platform.gateway(TRUST) as gateway:
            answer = gateway.get("/v1/reports/attendance", params={"academic_year": year, "period": period})
            return answer.json()["all_pupils"]["possible_sessions"] if answer.status_code == 200 else -1

    with platform.ingest(TRUST) as ingest:
        assert ingest.post("/v1/schools", json=[{"school_id": SCHOOL, "name": "Elm"}]).status_code == 200
        assert ingest.post("/v1/pupils", json=[{
            "pupil_id": "CAL-P1", "school_id": SCHOOL, "year_group": "Y3", "sex": "F", "fsm6": False, "lac": False,
            "plac": False, "sen": "N", "eal": False, "ethnicity": "WBRI", "left_on": None}]).status_code == 200

        def register(day: date) -> None:
            rows = [{"pupil_id": "CAL-P1", "school_id": SCHOOL, "date": day.isoformat(), "session": s, "code": c}
                    for s, c in (("AM", "/"), ("PM", "I"))]
            answer = ingest.post("/v1/attendance", json=rows)
            assert answer.status_code == 200, answer.text

        register(moved)
        eventually(lambda: sessions("AUT1") == 2, timeout=60)

        with httpx.Client(base_url=platform.ingest_url, headers=admin, timeout=30) as client:
            answer = client.put(f"/v1/calendar/{year}", json=own.model_dump(mode="json"))
            assert answer.status_code == 200, answer.text
            assert answer.json()["changed"] is True
            assert client.get(f"/v1/calendar/{year}").json()["source"] == "trust"

        eventually(lambda: (sessions("AUT1"), sessions("AUT2")) == (0, 2), timeout=90)
        register(moved + timedelta(days=1))
        eventually(lambda: (sessions("AUT1"), sessions("AUT2")) == (0, 4), timeout=60)

    with platform.gateway(TRUST) as gateway:
        dates = gateway.get("/v1/calendar/dates", params={"academic_year": year}).json()
    assert dates["source"] == "trust"
    assert (dates["periods"][0]["last_school_day"], dates["periods"][1]["first_school_day"]) == (
        (aut1_end - timedelta(days=14)).isoformat(), moved.isoformat())
