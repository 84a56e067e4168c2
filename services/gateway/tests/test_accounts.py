"""People, sessions, API keys and the audit trail through the gateway, over real HTTP (uvicorn, so
that cookies, headers and the live stream are real), on a real PostgreSQL and Redis. The
authorisation matrix is generated from the app's own route list."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
import uvicorn
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.settings import GatewaySettings
from tidemark_gateway.testing import OTHER_TRUST, TRUST, Seeder, gateway_settings, kept_answers
from tidemark_identity.domain import throttle
from tidemark_identity.service import Identity
from tidemark_runtime.embedded import LOOPBACK, free_port
from tidemark_schemas.aggregates import Keyspace

PASSWORD = "a long enough passphrase 42"
YEAR, PERIOD = "2025/26", "AUT1"
OWN, SIBLING, FOREIGN, MADE_UP = "OAK1", "ASH2", "ELM3", "NOPE9"
"""A school the caller may see; another school of its Trust; a school of another Trust; no school."""


@dataclass
class Site:
    url: str
    app: Any
    identity: Identity
    keys: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    """name -> person id"""
    other_person: str = ""
    other_key: str = ""

    def client(self, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10.0, **options)

    def bearer(self, name: str) -> httpx.AsyncClient:
        return self.client(headers={"Authorization": f"Bearer {self.keys[name]}"})

    @contextlib.asynccontextmanager
    async def signed_in(self, name: str, password: str = PASSWORD) -> AsyncIterator[httpx.AsyncClient]:
        client = await self.login(name, password)
        try:
            yield client
        finally:
            await client.aclose()

    async def login(self, name: str, password: str = PASSWORD) -> httpx.AsyncClient:
        """A browser-like client signed in as `name`, sending its CSRF token on every request."""
        client = self.client()
        response = await client.post(
            "/v1/auth/login", json={"email": f"{name}@oak.org", "password": password}
        )
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client


@contextlib.asynccontextmanager
async def serving(settings: GatewaySettings) -> AsyncIterator[tuple[str, Any]]:
    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning", timeout_graceful_shutdown=1)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn stopped before it started"
        await asyncio.sleep(0.01)
    try:
        yield f"http://{LOOPBACK}:{port}", app
    finally:
        server.should_exit = True
        await task


async def seed_schools(redis: Redis, prefix: str) -> None:
    mine, theirs = Seeder(redis, Keyspace(prefix, TRUST)), Seeder(redis, Keyspace(prefix, OTHER_TRUST))
    await mine.school(OWN, "Oak Primary")
    await mine.school(SIBLING, "Ash Academy")
    await theirs.school(FOREIGN, "Elm Juniors")
    for seed, school, at in ((mine, OWN, 3), (mine, SIBLING, 7), (theirs, FOREIGN, 5)):
        await seed.counts(YEAR, PERIOD, "reading", school, at=at, below=1)
        await seed.progress(YEAR, PERIOD, school, on_track_at=at)
        await seed.progress_pupil(YEAR, PERIOD, school, f"P-{school}", "on_track_at")


@pytest.fixture
async def site(redis_url: str, redis: Redis, prefix: str, database_url: str) -> AsyncIterator[Site]:
    await seed_schools(redis, prefix)
    engine = create_async_engine(database_url)
    identity = Identity.on(engine)
    settings = gateway_settings(redis_url, prefix, database_url=database_url, tidemark_tokens={})
    async with serving(settings) as (url, app):
        built = Site(url, app, identity)
        for name, role, schools in (
            ("admin", "trust_admin", None),
            ("leader", "trust_leader", None),
            ("head", "school_leader", [OWN]),
            ("analyst", "analyst", None),
            ("target_own", "school_leader", [OWN]),
            ("target_sibling", "school_leader", [SIBLING]),
        ):
            person = await identity.create_person(
                TRUST, "test", f"{name}@oak.org", name.title(), role, schools, PASSWORD
            )
            built.people[name] = person.person_id
        for name, role, schools in (
            ("reader", "reader", None),
            ("reader_s1", "reader", [OWN]),
            ("ingest", "ingest", None),
            ("target_own", "reader", [OWN]),
            ("target_sibling", "reader", [SIBLING]),
        ):
            built.keys[name] = (await identity.create_key(TRUST, "test", name, role, schools)).key
        built.other_person = (
            await identity.create_person(
                OTHER_TRUST, "test", "them@elm.org", "Them", "trust_admin", None, PASSWORD
            )
        ).person_id
        built.other_key = (await identity.create_key(OTHER_TRUST, "test", "theirs", "reader", None)).key_id
        yield built
    await engine.dispose()


# -- sign-in, sessions, CSRF, headers ---------------------------------------------------------------


async def test_every_answer_carries_the_security_headers(site: Site) -> None:
    async with site.client() as client:
        answers = [await client.get(path) for path in ("/", "/healthz", "/v1/schools", "/v1/auth/me")]
        answers.append(await client.post("/v1/auth/login", json={"email": "x@y.z", "password": "nope"}))

    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
    assert [a.status_code for a in answers] == [200, 200, 401, 401, 401]


async def test_signing_in_sets_a_strict_http_only_cookie_and_signing_out_ends_the_session(site: Site) -> None:
    async with site.client() as client:
        response = await client.post("/v1/auth/login", json={"email": "Head@Oak.org", "password": PASSWORD})
        cookie = response.headers["set-cookie"]
        me = (await client.get("/v1/auth/me")).json()
        refused = await client.post("/v1/auth/logout")
        out = await client.post("/v1/auth/logout", headers={"X-CSRF-Token": response.json()["csrf_token"]})
        after = await client.get("/v1/auth/me")

    assert response.status_code == 200 and response.json()["user"]["email"] == "head@oak.org"
    assert (
        "httponly" in cookie.lower()
        and "samesite=strict" in cookie.lower()
        and "secure" not in cookie.lower()
    )
    assert (me["role"], me["schools"], me["csrf_token"]) == (
        "school_leader",
        [OWN],
        response.json()["csrf_token"],
    )
    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "missing or wrong X-CSRF-Token header (CSRF protection)"},
    )
    assert (out.status_code, after.status_code) == (204, 401)


async def test_a_sign_in_rotates_the_session_of_the_browser(site: Site) -> None:
    async with site.client() as client:
        await client.post("/v1/auth/login", json={"email": "head@oak.org", "password": PASSWORD})
        first = client.cookies["tidemark_session"]
        await client.post("/v1/auth/login", json={"email": "head@oak.org", "password": PASSWORD})
        second = client.cookies["tidemark_session"]
    async with site.client(cookies={"tidemark_session": first}) as stale:
        assert (await stale.get("/v1/auth/me")).status_code == 401
    assert first != second


async def test_a_locked_account_is_answered_429_with_retry_after_even_with_the_right_password(site: Site) -> None:
    """The lock as the store holds it after `LOCK_AFTER` failures (the slowing down before it is timed,
    so tested with a clock of the test's own in libs/identity)."""
    async with site.client() as client:
        wrong = await client.post("/v1/auth/login", json={"email": "head@oak.org", "password": "wrong password!"})
        await site.identity.store.record_failures(
            {"account:head@oak.org": throttle.Failures(throttle.LOCK_AFTER, site.identity.now())}
        )
        locked = await client.post("/v1/auth/login", json={"email": "head@oak.org", "password": PASSWORD})

    assert (wrong.status_code, wrong.json()) == (401, {"detail": "wrong email or password"})
    assert locked.status_code == 429 and locked.json()["detail"].startswith("too many failed sign-ins")
    assert 840 < int(locked.headers["retry-after"]) <= throttle.LOCK_FOR.total_seconds()


async def test_bad_sign_in_input_is_a_422_naming_the_field(site: Site) -> None:
    async with site.client() as client:
        response = await client.post("/v1/auth/login", json={"email": "head@oak.org"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "password"]


# -- administration takes effect on the next request -----------------------------------------------


async def test_a_new_person_with_a_temporary_password_must_change_it_before_anything_else(site: Site) -> None:
    async with site.signed_in("admin") as admin:
        created = await admin.post(
            "/v1/admin/users",
            json={"email": "new@oak.org", "name": "New", "role": "school_leader", "schools": [OWN]},
        )
        weak = await admin.post(
            "/v1/admin/users",
            json={
                "email": "weak@oak.org",
                "name": "Weak",
                "role": "analyst",
                "schools": None,
                "password": "password1234",
            },
        )
    temporary = created.json()["temporary_password"]
    async with site.signed_in("new", temporary) as new:
        before = await new.get("/v1/schools")
        changed = await new.post(
            "/v1/auth/password", json={"current_password": temporary, "new_password": PASSWORD}
        )
        new.headers["X-CSRF-Token"] = (await new.get("/v1/auth/me")).json()["csrf_token"]
        after = await new.get("/v1/schools")

    assert created.status_code == 201 and len(temporary) >= 20
    assert (weak.status_code, weak.json()["detail"][0]["loc"]) == (422, ["body", "password"])
    assert before.status_code == 403
    assert changed.status_code == 204
    assert after.json() == [{"school_id": OWN, "name": "Oak Primary"}]


async def test_disabling_a_person_or_changing_their_schools_takes_effect_on_their_next_request(
    site: Site,
) -> None:
    async with site.signed_in("admin") as admin, site.signed_in("head") as head:
        seen = [school["school_id"] for school in (await head.get("/v1/schools")).json()]
        await admin.patch(f"/v1/admin/users/{site.people['head']}", json={"schools": [OWN, SIBLING]})
        widened = [school["school_id"] for school in (await head.get("/v1/schools")).json()]
        await admin.patch(f"/v1/admin/users/{site.people['head']}", json={"disabled": True})
        disabled = await head.get("/v1/schools")

    assert (seen, widened, disabled.status_code) == ([OWN], [SIBLING, OWN], 401)


async def test_a_revoked_key_is_refused_on_its_next_request(site: Site) -> None:
    async with site.signed_in("admin") as admin, site.bearer("reader") as reader:
        before = await reader.get("/v1/schools")
        key_id = site.keys["reader"].split("_")[1]
        revoked = await admin.delete(f"/v1/admin/api-keys/{key_id}")
        after = await reader.get("/v1/schools")
        listed = {k["key_id"]: k for k in (await admin.get("/v1/admin/api-keys")).json()}

    assert (before.status_code, revoked.status_code, after.status_code) == (200, 204, 401)
    assert listed[key_id]["revoked_at"] is not None and listed[key_id]["last_used_at"] is not None
    assert site.keys["reader"] not in str(listed)


async def test_a_revoked_key_is_refused_even_for_a_report_it_was_answered_before(site: Site) -> None:
    """The gateway answers a repeated request from its kept answer (KeptAnswers); the key is looked
    up again all the same."""
    report = {"academic_year": YEAR, "period": PERIOD, "measure": "reading", "by": "school"}
    key_id = site.keys["reader"].split("_")[1]
    async with site.bearer("reader") as reader:
        answers = [await reader.get("/v1/reports/attainment", params=report) for _ in range(3)]
        served = kept_answers(site.app).served
        async with site.signed_in("admin") as admin:
            assert (await admin.delete(f"/v1/admin/api-keys/{key_id}")).status_code == 204
        after = await reader.get("/v1/reports/attainment", params=report)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].content == answers[2].content
    assert served >= 1  # answered again without the route, the key looked up all the same
    assert after.status_code == 401


async def test_every_pupil_list_and_every_export_is_audited_however_often_it_is_asked(site: Site) -> None:
    pupils = {"academic_year": YEAR, "period": PERIOD, "pupils": "true", "school": OWN}
    async with site.signed_in("head") as head:
        listed = [await head.get("/v1/reports/progress-from-statutory", params=pupils) for _ in range(3)]
        exported = await head.get(
            "/v1/reports/attainment",
            params={"academic_year": YEAR, "period": PERIOD, "measure": "reading", "by": "school", "format": "csv"},
        )
    async with site.signed_in("admin") as admin:
        views = (await admin.get("/v1/audit", params={"action": "pupil_list"})).json()["entries"]
        exports = (await admin.get("/v1/audit", params={"action": "export"})).json()["entries"]

    assert [r.status_code for r in listed] == [200, 200, 200]
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert len(views) == 3
    assert [(e["actor_id"], e["school_id"]) for e in exports] == [(f"user:{site.people['head']}", None)]
    assert "format=csv" in str(exports[0])


async def test_the_analyst_gets_a_small_groups_count_but_never_its_percentage_in_json_or_export(site: Site) -> None:
    """Oak has 4 pupils (under the default threshold of 5), Ash 8."""
    report = {"academic_year": YEAR, "period": PERIOD, "measure": "reading", "by": "school"}
    async with site.signed_in("analyst") as analyst, site.signed_in("leader") as leader:
        analysts = (await analyst.get("/v1/reports/attainment", params=report)).json()
        exported = (await analyst.get("/v1/reports/attainment", params={**report, "format": "csv"})).text
        leaders = (await leader.get("/v1/reports/attainment", params=report)).json()

    def rows(body: dict[str, Any]) -> list[tuple[str, int, float | None, bool]]:
        return [(r["label"], r["n"], r["pct"], r["small_group"]) for r in body["rows"]]

    assert rows(analysts) == [("Ash Academy", 8, 87.5, False), ("Oak Primary", 4, None, True)]
    assert rows(leaders) == [("Ash Academy", 8, 87.5, False), ("Oak Primary", 4, 75.0, True)]
    assert "75.0" not in exported and "87.5" in exported


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(pdf))


async def test_the_analysts_board_pack_shows_a_small_groups_count_but_never_its_percentage(
    site: Site, redis: Redis, prefix: str
) -> None:
    seed = Seeder(redis, Keyspace(prefix, TRUST))
    await seed.counts(YEAR, PERIOD, "rwm", OWN, at=3, below=1)
    await seed.counts(YEAR, PERIOD, "rwm", SIBLING, at=7, below=1)
    pack = {"academic_year": YEAR, "period": PERIOD, "sections": "attainment"}
    async with site.signed_in("analyst") as analyst, site.signed_in("leader") as leader:
        analysts = await analyst.get("/v1/board-pack", params=pack)
        leaders = await leader.get("/v1/board-pack", params=pack)

    assert analysts.status_code == leaders.status_code == 200
    assert "Oak Primary (small group, % withheld)" in pdf_text(analysts.content)
    assert "75.0" not in pdf_text(analysts.content) and "87.5% (n=8)" in pdf_text(analysts.content)
    assert "Oak Primary (small group)" in pdf_text(leaders.content) and "75.0% (n=4)" in pdf_text(leaders.content)


async def test_a_board_pack_is_audited_as_an_export_with_its_filters(site: Site) -> None:
    pack = {"academic_year": YEAR, "period": PERIOD, "sections": "attainment,summative", "school": OWN}
    async with site.signed_in("head") as head:
        made = await head.get("/v1/board-pack", params=pack)
    async with site.signed_in("admin") as admin:
        exports = (await admin.get("/v1/audit", params={"action": "export"})).json()["entries"]

    assert made.status_code == 200 and made.headers["content-type"] == "application/pdf"
    assert [(e["actor_id"], e["school_id"]) for e in exports] == [(f"user:{site.people['head']}", OWN)]
    assert "/v1/board-pack" in str(exports[0]) and "sections=attainment%2Csummative" in str(exports[0])


async def test_an_open_live_stream_closes_once_its_key_is_revoked(site: Site) -> None:
    key_id = site.keys["reader"].split("_")[1]
    async with site.bearer("reader") as reader, reader.stream("GET", "/v1/live") as stream:
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        async with site.signed_in("admin") as admin:
            assert (await admin.delete(f"/v1/admin/api-keys/{key_id}")).status_code == 204
        async with asyncio.timeout(30):  # a guard only: the stream ends at its next heartbeat (0.2 s)
            rest = [line async for line in lines]
    assert all(not line.startswith("event: change") for line in rest)


async def test_the_audit_trail_records_sign_ins_people_keys_and_pupil_lists_with_filters(site: Site) -> None:
    async with site.client() as client:
        await client.post("/v1/auth/login", json={"email": "head@oak.org", "password": "not the password"})
    async with site.signed_in("head") as head:
        await head.get(
            "/v1/reports/progress-from-statutory",
            params={"academic_year": YEAR, "period": PERIOD, "pupils": "true", "school": OWN},
        )
    async with site.signed_in("admin") as admin:
        await admin.post("/v1/admin/api-keys", json={"name": "sims", "role": "ingest", "schools": [OWN]})
        everything = (await admin.get("/v1/audit")).json()
        views = (await admin.get("/v1/audit", params={"action": "pupil_list", "school": OWN})).json()
        heads = (await admin.get("/v1/audit", params={"actor": f"user:{site.people['head']}"})).json()
        page = (await admin.get("/v1/audit", params={"limit": 2})).json()
        bad = await admin.get("/v1/audit", params={"cursor": "nonsense"})
    async with site.signed_in("leader") as leader:
        refused = await leader.get("/v1/audit")

    actions = [entry["action"] for entry in everything["entries"]]
    assert actions[:2] == ["key_created", "sign_in"]
    assert {"sign_in_failed", "pupil_list", "sign_out"} - set(actions) == {"sign_out"}
    assert [(e["actor_id"], e["school_id"]) for e in views["entries"]] == [
        (f"user:{site.people['head']}", OWN)
    ]
    assert {e["action"] for e in heads["entries"]} == {"sign_in", "sign_in_failed", "pupil_list"}
    assert len(page["entries"]) == 2 and page["next_cursor"]
    assert (bad.status_code, bad.json()["detail"][0]["loc"]) == (422, ["query", "cursor"])
    assert refused.status_code == 403


# -- the authorisation matrix ---------------------------------------------------------------------

CALLERS = ("admin", "leader", "head", "analyst", "reader", "reader_s1", "ingest")
PERSONS = {"admin", "leader", "head", "analyst"}
TRUST_WIDE = {"admin", "leader", "analyst", "reader"}
FIGURES = {"admin", "leader", "head", "analyst", "reader", "reader_s1"}
PUPILS = {"admin", "leader", "head"}
ADMINS = {"admin"}
TARGETS = (OWN, SIBLING, FOREIGN, MADE_UP)
SELF_SERVICE = {("POST", "/v1/auth/login"), ("POST", "/v1/auth/logout"), ("POST", "/v1/auth/password"),
                ("GET", "/v1/auth/oidc"), ("GET", "/v1/auth/oidc/start"), ("GET", "/v1/auth/oidc/callback")}
"""Signing in and out, one's own password, single sign-on: no caller's school in them; tested above
and in test_sso, not a matrix of callers x schools."""
STREAMS = {("GET", "/v1/live")}

FILTER = {"academic_year": YEAR, "period": PERIOD, "measure": "reading", "by": "school", "gap": "sex"}
SCHOOL_FILTERED = {
    "/v1/reports/attainment": FILTER,
    "/v1/reports/attainment-overview": FILTER,
    "/v1/reports/progress-over-time": {"academic_year": YEAR},
    "/v1/reports/gaps": {"academic_year": YEAR, "gap": "sex"},
    "/v1/reports/pupil-overview": FILTER,
    "/v1/reports/data-completion": FILTER,
    "/v1/reports/statutory": {"academic_year": YEAR, "measure": "ks2.rwm"},
    "/v1/reports/progress-from-statutory": {"academic_year": YEAR, "period": PERIOD},
    "/v1/dashboards/summative": FILTER,
    "/v1/dashboards/statutory": {"academic_year": YEAR},
    "/v1/reports/attendance": {"academic_year": YEAR, "by": "school"},
    "/v1/reports/attendance-codes": {"academic_year": YEAR, "by": "school"},
    "/v1/reports/attendance-trend": {"academic_year": YEAR, "by": "school"},
    "/v1/dashboards/attendance": {"academic_year": YEAR},
    "/v1/reports/attendance-attainment": {"academic_year": YEAR, "period": PERIOD, "measure": "reading"},
}
UNFILTERED = {"/v1/schools", "/v1/calendar", "/v1/progress-categories", "/v1/auth/me"}


def figures_expected(caller: str, target: str) -> int:
    if caller not in FIGURES:
        return 403
    if caller not in TRUST_WIDE:
        return 200 if target == OWN else 403  # any other school, whether or not it exists: 403
    return 200 if target in (OWN, SIBLING) else 422  # another Trust's school is as unknown as a made-up one


@dataclass(frozen=True)
class Route:
    """An operation of the app's OpenAPI: the endpoint list every cell is generated from."""

    path: str


Request = tuple[str, str, dict[str, Any], Any]
Case = tuple[Request, int]


def cases_for(route: Route, method: str, caller: str, target: str, site: Site) -> list[Case]:
    """The requests of one cell, and what each must answer."""
    path = route.path
    # the people and keys an administrator changes or revokes: never one of the callers
    person = {
        OWN: site.people["target_own"],
        SIBLING: site.people["target_sibling"],
        FOREIGN: site.other_person,
        MADE_UP: "0" * 32,
    }[target]
    key_id = {
        OWN: site.keys["target_own"].split("_")[1],
        SIBLING: site.keys["target_sibling"].split("_")[1],
        FOREIGN: site.other_key,
        MADE_UP: "000000000000",
    }[target]
    admin_found = 200 if target in (OWN, SIBLING) else 404
    admin_only = lambda status: status if caller in ADMINS else 403  # noqa: E731
    if path in SCHOOL_FILTERED:
        params = {**SCHOOL_FILTERED[path], "school": target}
        found = [((method, path, params, None), figures_expected(caller, target))]
        # the same as a file: an export is read under the same rules
        found.append(((method, path, {**params, "format": "csv"}, None), figures_expected(caller, target)))
        if path in ("/v1/reports/progress-from-statutory", "/v1/reports/attendance"):
            pupils = (
                figures_expected(caller, target) if caller in PUPILS else 403
            )  # checked before the school
            found.append(((method, path, {**params, "pupils": "true"}, None), pupils))
        return found
    if path == "/v1/board-pack":  # a PDF: what it shows of each school is tested in test_board_pack
        params = {"academic_year": YEAR, "period": PERIOD, "sections": "attainment", "school": target}
        return [((method, path, params, None), figures_expected(caller, target))]
    if path in UNFILTERED:
        return [((method, path, {}, None), 200 if path == "/v1/auth/me" or caller in FIGURES else 403)]
    if path == "/v1/classes":  # a list narrowed to the schools the caller may see: never a 403 for a school
        return [((method, path, {"school_id": target}, None), 200 if caller in FIGURES else 403)]
    if path == "/v1/calendar/dates":
        return [((method, path, {"academic_year": YEAR}, None), 200 if caller in FIGURES else 403)]
    if path == "/v1/audit":
        return [((method, path, {"school": target}, None), admin_only(200))]
    if (method, path) == ("GET", "/v1/admin/users") or (method, path) == ("GET", "/v1/admin/api-keys"):
        return [((method, path, {}, None), admin_only(200))]
    if (method, path) == ("POST", "/v1/admin/users"):
        body = {
            "email": f"{caller}-{target}@oak.org".lower(),
            "name": "N",
            "role": "school_leader",
            "schools": [target],
        }
        return [((method, path, {}, body), admin_only(201 if target in (OWN, SIBLING) else 422))]
    if (method, path) == ("POST", "/v1/admin/api-keys"):
        body = {"name": "k", "role": "reader", "schools": [target]}
        return [((method, path, {}, body), admin_only(201 if target in (OWN, SIBLING) else 422))]
    if path == "/v1/admin/users/{user_id}":
        return [((method, path.format(user_id=person), {}, {"schools": [OWN]}), admin_only(admin_found))]
    if path == "/v1/admin/users/{user_id}/reset-password":
        return [((method, path.format(user_id=person), {}, None), admin_only(admin_found))]
    if path == "/v1/admin/api-keys/{key_id}":
        return [
            (
                (method, path.format(key_id=key_id), {}, None),
                admin_only(204 if target in (OWN, SIBLING) else 404),
            )
        ]
    raise AssertionError(f"{method} {path} is in no row of the matrix: add it")


def readable(response: httpx.Response) -> str:
    """What a response shows a reader: a PDF's text, else the body."""
    if response.status_code == 200 and response.headers.get("content-type") == "application/pdf":
        return pdf_text(response.content)
    return response.text


async def call(client: httpx.AsyncClient, request: Request) -> httpx.Response:
    method, path, params, body = request
    return await client.request(method, path, params=params, json=body)


async def test_the_authorisation_matrix_every_caller_every_endpoint_every_school(site: Site) -> None:
    routes = [
        (method.upper(), Route(path))
        for path, operations in site.app.openapi()["paths"].items()
        if path.startswith("/v1/")
        for method in operations
    ]
    opened: dict[str, httpx.AsyncClient] = {}
    for caller in CALLERS:
        opened[caller] = await site.login(caller) if caller in PERSONS else site.bearer(caller)
    wrong: list[str] = []
    leaks: list[str] = []
    checked = 0
    try:
        for method, route in routes:
            if (method, route.path) in SELF_SERVICE:
                continue
            if (method, route.path) in STREAMS:
                for caller in CALLERS:
                    async with opened[caller].stream("GET", route.path) as stream:
                        expected = 200 if caller in FIGURES else 403
                        if stream.status_code != expected:
                            wrong.append(
                                f"{caller} GET {route.path}: {stream.status_code}, expected {expected}"
                            )
                        checked += 1
                continue
            for target in TARGETS:
                for caller in CALLERS:
                    for request, expected in cases_for(route, method, caller, target, site):
                        response = await call(opened[caller], request)
                        checked += 1
                        if response.status_code != expected:
                            wrong.append(
                                f"{caller} {request[0]} {request[1]} {target}: {response.status_code} "
                                f"{response.text[:120]}, expected {expected}"
                            )
                        shown = readable(response)
                        if (
                            caller not in TRUST_WIDE
                            and response.status_code == 200
                            and (SIBLING in shown or "Ash Academy" in shown)
                        ):
                            leaks.append(f"{caller} {request[1]} {target}")
                        if response.status_code < 300 and (FOREIGN in shown or "Elm" in shown):
                            leaks.append(f"{caller} {request[1]} {target} (another Trust)")
    finally:
        for client in opened.values():
            await client.aclose()

    assert wrong == [], "\n".join(wrong)
    assert leaks == [], "\n".join(leaks)
    assert len(routes) == 37 and checked > 700


async def test_another_trusts_school_and_a_made_up_one_answer_alike(site: Site) -> None:
    async with site.bearer("reader") as reader:
        foreign, made_up = [
            (await reader.get("/v1/reports/attainment", params={**FILTER, "school": school})).json()
            for school in (FOREIGN, MADE_UP)
        ]
    assert str(foreign).replace(FOREIGN, "?") == str(made_up).replace(MADE_UP, "?")
