"""Every endpoint declares the permission it needs, the OpenAPI says so, and the check holds."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.entrypoints.routes import board_pack, dashboards, health, ingest, live, reference, reports, ui
from tidemark_gateway.testing import Gateway
from tidemark_runtime.auth import Permission, Requirement, requirements_of

V1_ROUTES = [route for area in (reports, dashboards, reference, live, board_pack) for route in area.router.routes
             if isinstance(route, APIRoute)]
QUERY = {"measure": "reading", "by": "school", "academic_year": "2025/26", "period": "AUT1", "gap": "sex"}


def test_every_v1_route_requires_reading_figures_and_only_the_drill_down_may_ask_for_more() -> None:
    needs = {route.path: requirements_of(route.path, route.endpoint, route.dependencies) for route in V1_ROUTES}

    assert len(needs) == 16
    assert all(needed[0] == Requirement(Permission.READ_FIGURES) for needed in needs.values())
    assert {path: needed[1:] for path, needed in needs.items() if needed[1:]} == {
        "/v1/reports/progress-from-statutory": [Requirement(Permission.READ_PUPILS, "`pupils=true`")]}


def test_only_health_the_page_and_the_forward_to_ingest_need_no_token_at_the_gateway() -> None:
    """The forward checks nothing itself and grants nothing: ingest checks each of its routes'
    permission (`tracker:write`) on the credentials passed on (tests/test_ingest_forward.py)."""
    public = [route for area in (health, ui, ingest) for route in area.router.routes if isinstance(route, APIRoute)]

    assert sorted(route.path for route in public) == ["/", "/healthz", "/ingest/{path:path}", "/readyz", "/static/{name}"]
    assert all(requirements_of(route.path, route.endpoint, route.dependencies) == [] for route in public)


def test_the_openapi_states_each_operations_permission_and_its_401_and_403() -> None:
    operations = {(path, method): operation for path, methods in create_app().openapi()["paths"].items()
                  for method, operation in methods.items()}
    accounts = ("/v1/auth/", "/v1/admin/", "/v1/audit")
    protected = {key: operation for key, operation in operations.items()
                 if key[0].startswith("/v1/") and not key[0].startswith(accounts)}

    assert len(protected) == 22
    for (path, _method), operation in protected.items():
        assert "**Permission:** `figures:read`." in operation["description"], path
        assert {"401", "403"} <= set(operation["responses"]), path
        assert operation["security"] == [{"HTTPBearer": []}, {"APIKeyCookie": []}], path
    assert "401" not in operations[("/healthz", "get")]["responses"]
    assert "401" not in operations[("/readyz", "get")]["responses"]


@pytest.mark.parametrize("path", sorted({route.path for route in V1_ROUTES}))
async def test_an_ingest_token_may_call_no_v1_endpoint(gateway: Gateway, path: str) -> None:
    response = await gateway.get(path, token="ingest", **QUERY)

    assert (response.status_code, response.json()) == (403, {"detail": "this caller may not read figures (figures:read)"})
