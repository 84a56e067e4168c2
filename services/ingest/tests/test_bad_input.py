"""Bad input is a 4xx naming the field and the reason, never a 5xx (issue 10): an oversized body is
refused before authentication or parsing, an over-long batch before any row is validated, strict
types and the academic-year and date windows hold over HTTP, any text a client sent can be echoed;
and every tracker route needs `tracker:write`, the replay only its token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tidemark_ingest.entrypoints.errors import REFUSED_WHOLE
from tidemark_ingest.settings import MAX_BODY_BYTES
from tidemark_ingest.testing import TRUST, Ingest, in_process, ingest_settings
from tidemark_schemas.calendar import format_academic_year
from tidemark_schemas.records import MAX_BATCH_ROWS, PupilRecord, SchoolRecord, academic_year_window

MIB = 1024 * 1024
PUPIL = dict(
    pupil_id="P1", school_id="S1", year_group="Y3", sex="F", fsm6=False, lac=False, plac=False, sen="N",
    eal=False, ethnicity="WBRI", left_on=None,
)
RESULT = dict(
    pupil_id="P1", school_id="S1", academic_year="2025/26", period="AUT1", year_group="Y3", subject="reading", band="AT"
)
MTC = dict(pupil_id="P1", school_id="S1", academic_year="2025/26", assessment="mtc", component="score", mark=25)
SCOPE = dict(school_id="S1", academic_year="2025/26", period="AUT1")
TRACKER_ROUTES = [
    ("/v1/schools", [{"school_id": "S2", "name": "Ash"}]),
    ("/v1/classes", [{"class_id": "C1", "school_id": "S1", "academic_year": "2025/26", "name": "3B",
                      "year_groups": ["Y3"]}]),
    ("/v1/pupils", [PUPIL]),
    ("/v1/assessments", [RESULT]),
    ("/v1/assessments/lock", SCOPE),
    ("/v1/assessments/unlock", SCOPE),
    ("/v1/statutory", [MTC]),
    ("/v1/statutory/lock", {"school_id": "S1", "academic_year": "2025/26"}),
    ("/v1/statutory/unlock", {"school_id": "S1", "academic_year": "2025/26"}),
]


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    """The app built by `bootstrap` (a stand-in broker), with school S1 and pupil P1 of the Trust,
    and the replay served to the token "replay"."""
    async with in_process(ingest_settings(database_url, replay_token="replay")) as app:
        await app.services.tracker.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak")])
        await app.services.tracker.post_pupils(TRUST, [PupilRecord(**PUPIL)])
        yield app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refusals(body: dict) -> list[tuple[int | None, str]]:
    assert body["detail"] == REFUSED_WHOLE
    return [(error["row"], error["field"]) for error in body["errors"]]


# -- size ----------------------------------------------------------------------------------------


async def test_a_100_mb_body_without_a_token_is_a_413_before_authentication_and_is_not_read(ingest: Ingest):
    chunks_read = 0

    async def hundred_mib():
        nonlocal chunks_read
        for _ in range(100):
            chunks_read += 1
            yield b" " * MIB

    limit = MAX_BODY_BYTES  # the app's: the settings' default
    declared = await ingest.client.post("/v1/pupils", content=hundred_mib(),
                                        headers={"content-type": "application/json", "content-length": str(100 * MIB)})
    read_when_declared = chunks_read
    chunks_read = 0
    streamed = await ingest.client.post("/v1/pupils", content=hundred_mib(), headers={"content-type": "application/json"})

    assert limit == 32 * MIB
    for answer in (declared, streamed):
        assert (answer.status_code, answer.json()) == (413, {"detail": f"the request body is larger than {limit} bytes"})
    assert read_when_declared == 0  # refused on its Content-Length
    assert chunks_read == 33  # refused while read, at the first MiB over the limit


async def test_a_batch_over_the_row_limit_is_answered_with_one_error_naming_the_limit(ingest: Ingest):
    """200,000 invalid rows: the limit is checked before any row is, so the answer is one error, not
    one per row (`tidemark_schemas.records.Batch`; libs/schemas/tests prove no row is validated)."""
    response = await ingest.client.post("/v1/pupils", json=[{"pupil_id": "?"}] * 200_000, headers=bearer("ingest"))

    assert response.status_code == 422
    assert response.json() == {"detail": REFUSED_WHOLE, "errors": [
        {"row": None, "field": "(body)", "reason": f"at most {MAX_BATCH_ROWS} rows per batch, not 200000", "value": None}
    ]}


# -- strict types and windows --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "row", "field", "value"),
    [
        ("/v1/pupils", [{**PUPIL, "fsm6": "yes"}], 0, "fsm6", "yes"),
        ("/v1/statutory", [{**MTC, "mark": True}], 0, "mark", True),
        ("/v1/assessments", [{**RESULT, "academic_year": "0000/01"}], 0, "academic_year", "0000/01"),
        ("/v1/assessments", [{**RESULT, "academic_year": "9999/00"}], 0, "academic_year", "9999/00"),
        ("/v1/statutory", [{**MTC, "academic_year": "0000/01"}], 0, "academic_year", "0000/01"),
        ("/v1/assessments/lock", {**SCOPE, "academic_year": "9999/00"}, None, "academic_year", "9999/00"),
        ("/v1/pupils", [{**PUPIL, "left_on": "0001-01-01"}], 0, "left_on", "0001-01-01"),
    ],
    ids=["fsm6-yes", "mark-true", "year-0000/01", "year-9999/00", "statutory-year-0000/01", "lock-year-9999/00",
         "left-on-0001-01-01"],
)
async def test_a_value_of_the_wrong_type_or_outside_its_window_is_a_422_naming_the_field(
    ingest: Ingest, path: str, body: object, row: int | None, field: str, value: object
):
    response = await ingest.client.post(path, json=body, headers=bearer("ingest"))

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["row"], error["field"], error["value"]) == (row, field, value)


async def test_the_academic_year_window_is_named_in_the_reason(ingest: Ingest):
    first, last = academic_year_window()

    response = await ingest.client.post("/v1/assessments", json=[{**RESULT, "academic_year": "9999/00"}],
                                        headers=bearer("ingest"))

    assert response.json()["errors"][0]["reason"] == (
        f"must be between {format_academic_year(first)} and {format_academic_year(last)}")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Oak\\ud800", "Input should be a valid string, unable to parse raw data as a unicode string"),
        ("Oak\\u0000 Primary", "must not hold control characters (found U+0000)"),
        ("Oak\\u001b[31m", "must not hold control characters (found U+001B)"),
    ],
    ids=["lone-surrogate", "nul", "escape"],
)
async def test_a_school_name_no_store_or_page_can_hold_is_a_422_naming_it_never_a_500(
    ingest: Ingest, name: str, reason: str
):
    body = b'[{"school_id": "S1", "name": "Oak"}, {"school_id": "S2", "name": "' + name.encode() + b'"}]'

    response = await ingest.client.post("/v1/schools", content=body,
                                        headers={**bearer("ingest"), "content-type": "application/json"})

    assert response.status_code == 422
    assert response.content.isascii()  # the echoed value is escaped, whatever it holds
    assert refusals(response.json()) == [(1, "name")]
    assert response.json()["errors"][0]["reason"] == reason


# -- who may call --------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body"), TRACKER_ROUTES, ids=[path for path, _ in TRACKER_ROUTES])
async def test_every_tracker_route_needs_an_ingest_token(ingest: Ingest, path: str, body: object):
    missing = await ingest.client.post(path, json=body)
    unknown = await ingest.client.post(path, json=body, headers=bearer("replay"))
    viewer = await ingest.client.post(path, json=body, headers=bearer("viewer"))
    accepted = await ingest.client.post(path, json=body, headers=bearer("ingest"))

    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
    assert (unknown.status_code, unknown.json()) == (401, {"detail": "unknown, expired or revoked API key"})
    assert (viewer.status_code, viewer.json()) == (403, {"detail": "this caller may not write tracker data (tracker:write: an ingest key or a teacher)"})
    assert accepted.status_code == 200


async def test_an_ingest_token_writes_its_own_trust_only(ingest: Ingest):
    """The other Trust's token does not see this Trust's school S1."""
    response = await ingest.client.post("/v1/pupils", json=[PUPIL], headers=bearer("other-ingest"))

    assert response.status_code == 422
    assert refusals(response.json()) == [(0, "school_id")]


async def test_the_replay_admits_its_token_only(ingest: Ingest):
    answers = {token: (await ingest.client.get("/v1/replay/trusts", headers=bearer(token))).status_code
               for token in ("ingest", "viewer", "replay")}

    assert answers == {"ingest": 401, "viewer": 401, "replay": 200}


def test_each_tracker_operation_states_its_permission_and_its_refusals(ingest: Ingest):
    operations = {(method.upper(), path): operation for path, item in ingest.app.openapi()["paths"].items()
                  for method, operation in item.items()}

    tracker = [operation for (method, path), operation in operations.items() if "tracker" in operation["tags"]]
    replay = [operation for (method, path), operation in operations.items() if path.startswith("/v1/replay")]

    assert sorted(path for path, _ in TRACKER_ROUTES) == sorted(
        path for (method, path), operation in operations.items() if "tracker" in operation["tags"])
    for operation in tracker:
        assert operation["description"].endswith("**Permission:** `tracker:write`.")
        assert {"401", "403", "413", "422"} <= set(operation["responses"])
    for operation in replay:
        assert "Permission" not in operation["description"]
        assert "401" in operation["responses"] and "403" not in operation["responses"]


async def test_a_body_that_is_no_json_is_an_error_of_the_body_not_of_a_row(ingest: Ingest):
    response = await ingest.client.post("/v1/pupils", content=b'[{"pupil_id": "P1",]',
                                        headers={**bearer("ingest"), "content-type": "application/json"})

    assert response.status_code == 422
    assert response.json()["errors"] == [{"row": None, "field": "(body)", "value": None,
                                          "reason": "JSON decode error at character 19: Expecting property name "
                                                    "enclosed in double quotes"}]
