"""The body limit refuses an oversized request before authentication or parsing sees it, and a
422 can echo any text a client sent."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException

from tidemark_runtime.http import BodyLimit, SafeJSONResponse

LIMIT = 1000


def build() -> tuple[FastAPI, list[str]]:
    seen: list[str] = []

    def authenticated(authorization: Annotated[str | None, Header()] = None) -> None:
        seen.append("auth")
        if authorization != "Bearer ok":
            raise HTTPException(401, "missing bearer token")

    app = FastAPI()
    app.add_middleware(BodyLimit, limit=LIMIT)

    @app.post("/rows", dependencies=[Depends(authenticated)])
    async def rows(body: list[dict[str, str]]) -> dict[str, int]:
        seen.append("handler")
        return {"rows": len(body)}

    @app.get("/echo", response_class=SafeJSONResponse)
    async def echo() -> SafeJSONResponse:
        return SafeJSONResponse({"value": "Oak\ud800 – Ōak"})

    return app, seen


async def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")


async def test_a_declared_oversized_body_is_refused_before_authentication():
    app, seen = build()
    async with await client(app) as http:
        answer = await http.post("/rows", content=b"[" + b'{"a":"b"},' * 500 + b"{}]",
                                 headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()) == (413, {"detail": f"the request body is larger than {LIMIT} bytes"})
    assert seen == []


async def test_a_streamed_body_is_cut_off_at_the_limit():
    app, seen = build()

    async def chunks():
        for _ in range(100):
            yield b'{"a":"b"},' * 10  # 100 bytes a chunk, no Content-Length

    async with await client(app) as http:
        answer = await http.post("/rows", content=chunks(), headers={"authorization": "Bearer ok"})
    assert answer.status_code == 413
    assert "handler" not in seen


async def test_a_body_within_the_limit_reaches_authentication_and_the_handler():
    app, seen = build()
    async with await client(app) as http:
        refused = await http.post("/rows", json=[{"a": "b"}])
        accepted = await http.post("/rows", json=[{"a": "b"}] * 3, headers={"authorization": "Bearer ok"})
    assert (refused.status_code, accepted.status_code, accepted.json()) == (401, 200, {"rows": 3})
    assert seen == ["auth", "auth", "handler"]


async def test_an_answer_echoing_a_lone_surrogate_can_be_encoded():
    app, _ = build()
    async with await client(app) as http:
        answer = await http.get("/echo")
    assert answer.status_code == 200
    assert answer.content == b'{"value":"Oak\\ud800 \\u2013 \\u014cak"}'
