"""Permissions: the grants of today's token roles, the one check (401 / 403), and the OpenAPI that
states what each route needs."""

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
    Requirement,
    authorize,
    declares,
    permissions_of,
    require,
    token_lookup,
)
from tidemark_runtime.settings import Principal

TOKENS = {
    "viewer": Principal(trust_id="T", role="viewer"),
    "pupils": Principal(trust_id="T", role="viewer", see_pupils=True),
    "ingest": Principal(trust_id="T", role="ingest"),
}


def test_each_role_holds_its_permissions_and_see_pupils_adds_pupil_lists() -> None:
    assert permissions_of(TOKENS["viewer"]) == {Permission.READ_FIGURES}
    assert permissions_of(TOKENS["pupils"]) == {Permission.READ_FIGURES, Permission.READ_PUPILS}
    assert permissions_of(TOKENS["ingest"]) == {Permission.WRITE_TRACKER}


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
    app.state.principals = token_lookup(TOKENS)
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
    assert await answer(client, "GET", "/figures", None) == (401, {"detail": "missing bearer token"})
    assert await answer(client, "GET", "/figures", "nobody") == (401, {"detail": "unknown bearer token"})
    assert await answer(client, "GET", "/figures", "ingest") == (403, {"detail": "this endpoint needs a viewer token"})
    assert await answer(client, "GET", "/figures", "viewer") == (200, {"trust": "T"})


async def test_pupil_lists_go_through_the_same_check(client: httpx.AsyncClient) -> None:
    assert await answer(client, "GET", "/drill-down?pupils=true", "viewer") == (
        403, {"detail": "this token may not see pupil-level data (see_pupils)"})
    assert await answer(client, "GET", "/drill-down?pupils=true", "pupils") == (200, {"pupils": True})
    assert await answer(client, "GET", "/drill-down", "viewer") == (200, {"pupils": False})
    assert await answer(client, "GET", "/drill-down?pupils=true", "ingest") == (
        403, {"detail": "this endpoint needs a viewer token"})


async def test_a_permission_as_a_route_dependency_admits_only_tokens_holding_it(client: httpx.AsyncClient) -> None:
    assert await answer(client, "POST", "/results", "ingest") == (200, {"stored": True})
    assert await answer(client, "POST", "/results", "viewer") == (403, {"detail": "this endpoint needs an ingest token"})
    assert (await answer(client, "POST", "/results", None))[0] == 401


def test_each_route_states_its_permission_and_documents_401_and_403() -> None:
    paths = build().openapi()["paths"]
    figures, drill_down = paths["/figures"]["get"], paths["/drill-down"]["get"]

    assert figures["description"] == "Figures.\n\n**Permission:** `figures:read` (a `viewer` token)."
    assert figures["responses"]["403"]["description"] == (
        "The token lacks `figures:read`; or: A school the caller may not see")
    assert "401" in figures["responses"]
    assert drill_down["description"].endswith(
        "**Permission:** `figures:read` (a `viewer` token). With `pupils=true`, also `pupils:read` "
        "(a `viewer` token with `see_pupils`).")
    assert paths["/results"]["post"]["description"] == "**Permission:** `tracker:write` (an `ingest` token)."
