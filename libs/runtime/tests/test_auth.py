"""Permissions: the one check (401 / 403) over whatever principal lookup an app installs, the CSRF
hand-over to the lookup, and the OpenAPI that states what each route needs."""

# No `from __future__ import annotations`: FastAPI must resolve the annotations of the routes and
# dependencies defined inside `build`.

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query

from tidemark_runtime.auth import (
    GuardedRoute,
    Permission,
    Presented,
    Requirement,
    authorize,
    declares,
    require,
)
from tidemark_runtime.settings import Principal

P = Permission
TOKENS = {
    "viewer": Principal(trust_id="T", role="reader", permissions=frozenset({P.READ_FIGURES})),
    "pupils": Principal(trust_id="T", role="leader", permissions=frozenset({P.READ_FIGURES, P.READ_PUPILS})),
    "ingest": Principal(trust_id="T", role="ingest", permissions=frozenset({P.WRITE_TRACKER})),
}
SEEN: list[Presented] = []


async def lookup(presented: Presented) -> Principal | None:
    """A stand-in for the identity lookup: bearer tokens by name; a session cookie "s" is the viewer."""
    SEEN.append(presented)
    if presented.bearer is not None:
        return TOKENS.get(presented.bearer)
    return TOKENS["viewer"] if presented.session == "s" else None


def build() -> FastAPI:
    router = APIRouter(route_class=GuardedRoute)

    @declares(Requirement(Permission.READ_PUPILS, when="`pupils=true`"))
    def pupil_list(
        caller: Annotated[Principal, Depends(require(Permission.READ_FIGURES))],
        pupils: Annotated[bool, Query()] = False,
    ) -> bool:
        if pupils:
            authorize(caller, Permission.READ_PUPILS)
        return pupils

    @router.get("/figures", responses={403: {"description": "A school the caller may not see"}})
    async def figures(caller: Annotated[Principal, Depends(require(Permission.READ_FIGURES))]) -> dict[str, str]:
        """Figures."""
        return {"trust": caller.trust_id}

    @router.get("/drill-down")
    async def drill_down(pupils: Annotated[bool, Depends(pupil_list)]) -> dict[str, bool]:
        return {"pupils": pupils}

    @router.post("/results", dependencies=[Depends(require(Permission.WRITE_TRACKER))])
    async def results() -> dict[str, bool]:
        return {"stored": True}

    app = FastAPI()
    app.state.principals = lookup
    app.include_router(router)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build()), base_url="http://app") as client:
        yield client


async def answer(client: httpx.AsyncClient, method: str, path: str, token: str | None) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.request(method, path, headers=headers)
    return response.status_code, response.json()


async def test_the_check_answers_401_without_a_known_token_and_403_without_the_permission(
    client: httpx.AsyncClient,
) -> None:
    assert await answer(client, "GET", "/figures", None) == (401, {"detail": "not signed in: no API key and no session"})
    assert await answer(client, "GET", "/figures", "nobody") == (401, {"detail": "unknown, expired or revoked API key"})
    assert await answer(client, "GET", "/figures", "ingest") == (
        403, {"detail": "this caller may not read figures (figures:read)"})
    assert await answer(client, "GET", "/figures", "viewer") == (200, {"trust": "T"})


async def test_a_session_cookie_reaches_the_lookup_with_its_csrf_header_and_whether_the_request_changes_state(
    client: httpx.AsyncClient,
) -> None:
    SEEN.clear()
    client.cookies.set("tidemark_session", "s")
    figures = await client.get("/figures")
    results = await client.post("/results", headers={"X-CSRF-Token": "c"})

    assert (figures.status_code, results.status_code) == (200, 403)
    assert [(p.bearer, p.session, p.csrf, p.state_changing) for p in SEEN] == [
        (None, "s", None, False), (None, "s", "c", True)]


async def test_pupil_lists_go_through_the_same_check(client: httpx.AsyncClient) -> None:
    assert await answer(client, "GET", "/drill-down?pupils=true", "viewer") == (
        403, {"detail": "this caller may not see pupil-level data (pupils:read)"})
    assert await answer(client, "GET", "/drill-down?pupils=true", "pupils") == (200, {"pupils": True})
    assert await answer(client, "GET", "/drill-down", "viewer") == (200, {"pupils": False})
    assert await answer(client, "GET", "/drill-down?pupils=true", "ingest") == (
        403, {"detail": "this caller may not read figures (figures:read)"})


async def test_a_permission_as_a_route_dependency_admits_only_tokens_holding_it(client: httpx.AsyncClient) -> None:
    assert await answer(client, "POST", "/results", "ingest") == (200, {"stored": True})
    assert await answer(client, "POST", "/results", "viewer") == (
        403, {"detail": "this caller may not write tracker data (tracker:write: an ingest key or a teacher)"})
    assert (await answer(client, "POST", "/results", None))[0] == 401


def test_each_route_states_its_permission_and_documents_401_and_403() -> None:
    paths = build().openapi()["paths"]
    figures, drill_down = paths["/figures"]["get"], paths["/drill-down"]["get"]

    assert figures["description"] == "Figures.\n\n**Permission:** `figures:read`."
    assert figures["responses"]["403"]["description"] == (
        "The caller's role lacks `figures:read`; or: A school the caller may not see")
    assert "401" in figures["responses"]
    assert drill_down["description"].endswith(
        "**Permission:** `figures:read`. With `pupils=true`, also `pupils:read`.")
    assert paths["/results"]["post"]["description"] == "**Permission:** `tracker:write`."
