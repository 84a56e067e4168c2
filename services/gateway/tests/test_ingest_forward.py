"""The forward of `/ingest/{path}` at the gateway's edge: which headers pass each way, the 503 that
names INGEST_URL when it is unset, the gateway's own body limit in front, and ingest's status, body
and headers coming back unchanged (here from a stand-in ingest; tests/test_ingest_forward.py runs it
against the real ingest process)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tidemark_gateway.adapters.ingest_forward import IngestForward, answer_headers, request_headers
from tidemark_gateway.bootstrap import bootstrap
from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.settings import GatewaySettings
from tidemark_gateway.testing import Gateway, gateway_settings


def test_only_credentials_body_type_and_accept_pass_with_the_clients_address() -> None:
    sent = [("Authorization", "Bearer k"), ("Cookie", "tidemark_session=s"), ("X-CSRF-Token", "c"),
            ("Content-Type", "application/json"), ("Accept", "application/json"), ("Connection", "keep-alive"),
            ("Host", "gateway"), ("X-Forwarded-For", "6.6.6.6"), ("Accept-Encoding", "gzip"), ("Origin", "x")]

    assert request_headers(sent, "10.0.0.7") == [
        ("Authorization", "Bearer k"), ("Cookie", "tidemark_session=s"), ("X-CSRF-Token", "c"),
        ("Content-Type", "application/json"), ("Accept", "application/json"),
        ("accept-encoding", "identity"), ("x-forwarded-for", "10.0.0.7")]


def test_hop_by_hop_headers_those_connection_names_and_the_gateways_own_do_not_come_back() -> None:
    answered = [("content-type", "application/json"), ("content-length", "12"), ("connection", "close, x-trace"),
                ("x-trace", "1"), ("transfer-encoding", "chunked"), ("keep-alive", "timeout=5"),
                ("server", "uvicorn"), ("date", "today"), ("retry-after", "3"), ("location", "/v1/imports/1")]

    assert answer_headers(answered) == [("content-type", "application/json"), ("content-length", "12"),
                                        ("retry-after", "3"), ("location", "/v1/imports/1")]


async def echo(request: Request) -> JSONResponse:
    """A stand-in ingest: answers 207 with what it was sent (to see exactly what passed)."""
    body = await request.body()
    return JSONResponse(
        {"method": request.method, "path": request.url.path, "query": request.url.query,
         "headers": {k: v for k, v in request.headers.items() if k not in ("host", "user-agent", "connection")},
         "body": body.decode()},
        status_code=207, headers={"retry-after": "3", "connection": "close"},
    )


STAND_IN = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


@pytest.fixture
async def forwarding(redis_url: str, redis: Redis, prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = gateway_settings(redis_url, prefix, ingest_url="http://ingest", ingest_max_body_bytes=2048)

    def build(settings: GatewaySettings):  # type: ignore[no-untyped-def]
        return replace(bootstrap(settings), ingest=IngestForward("http://ingest", httpx.ASGITransport(app=STAND_IN)))

    app = create_app(settings, build=build)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def test_the_request_reaches_ingests_path_and_ingests_status_and_body_come_back(
    forwarding: httpx.AsyncClient,
) -> None:
    response = await forwarding.post(
        "/ingest/v1/assessments/lock?dry=1", content=json.dumps({"school_id": "S1"}),
        headers={"Content-Type": "application/json", "X-CSRF-Token": "t", "Cookie": "tidemark_session=abc",
                 "X-Custom": "dropped"},
    )

    assert response.status_code == 207
    sent = response.json()
    assert (sent["method"], sent["path"], sent["query"], sent["body"]) == (
        "POST", "/v1/assessments/lock", "dry=1", '{"school_id": "S1"}')
    assert sent["headers"] == {
        "content-type": "application/json", "x-csrf-token": "t", "cookie": "tidemark_session=abc",
        "content-length": "19", "accept": "*/*", "accept-encoding": "identity", "x-forwarded-for": "10.1.2.3"}
    assert response.headers["retry-after"] == "3"
    assert "connection" not in response.headers
    assert response.headers["content-security-policy"].startswith("default-src 'none'")  # the gateway's own


async def test_a_body_over_the_forwards_limit_is_refused_at_the_gateway(forwarding: httpx.AsyncClient) -> None:
    response = await forwarding.post("/ingest/v1/imports", content=b"x" * 2049)

    assert (response.status_code, response.json()) == (413, {"detail": "the request body is larger than 2048 bytes"})


async def test_without_ingest_url_the_forward_answers_503_naming_the_setting(gateway: Gateway) -> None:
    response = await gateway.client.post("/ingest/v1/schools", json=[])

    assert (response.status_code, response.json()) == (
        503, {"detail": "the gateway does not forward to ingest: INGEST_URL is not set"})


async def test_an_ingest_that_does_not_answer_is_a_502(redis_url: str, redis: Redis, prefix: str) -> None:
    from tidemark_runtime.embedded import LOOPBACK, free_port

    settings = gateway_settings(redis_url, prefix, ingest_url=f"http://{LOOPBACK}:{free_port()}")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
            response = await client.get("/ingest/status")

    assert response.status_code == 502
    assert response.json()["detail"].startswith("ingest did not answer")


def test_the_forward_is_not_in_the_gateways_openapi() -> None:
    assert not [path for path in create_app().openapi()["paths"] if path.startswith("/ingest")]
