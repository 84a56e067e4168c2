"""HTTP plumbing every service shares: a request body limit enforced while reading, before
authentication or parsing, and JSON answers that can carry any text a client sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HTTPError(BaseModel):
    """The body of a refusal other than a validation error (401, 403, 413, 503)."""

    detail: str = Field(description="What was refused and why")


def refusal(description: str) -> dict[str, Any]:
    """An OpenAPI response (for a route's `responses`) of an `HTTPError` body, always JSON: also on a
    route whose own answers are not (an event stream)."""
    return {"description": description, "content": {"application/json": {"schema": HTTPError.model_json_schema()}}}


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI passes it on unchanged when it meets it while reading a body."""

    def __init__(self, limit: int) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, f"the request body is larger than {limit} bytes")


class BodyLimit:
    """ASGI middleware: a body declared (Content-Length) or found (while streaming) to be larger
    than `limit` bytes is refused with 413, before any route, authentication or parser sees more
    than `limit` bytes of it. `by_prefix` gives the paths under a prefix a limit of their own (the
    gateway's forward of uploads to ingest)."""

    def __init__(self, app: ASGIApp, limit: int, by_prefix: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.by_prefix = dict(by_prefix or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = next((own for prefix, own in self.by_prefix.items() if scope["path"].startswith(prefix)), self.limit)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, BodyTooLarge(limit))
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge as refused:  # raised outside FastAPI's exception handling
            if started:
                raise
            await _refuse(send, refused)


async def _refuse(send: Send, error: HTTPException) -> None:
    body = json.dumps({"detail": error.detail}).encode()
    await send({"type": "http.response.start", "status": error.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class SafeJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: an answer that echoes a client's input (a
    422 naming the bad value) can always be encoded, whatever that input held."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""The page loads its own script, style and data and nothing from elsewhere; no page may frame it."""
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""FastAPI's /docs and /redoc load Swagger UI and ReDoc from their CDN, and start them inline."""
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """ASGI middleware: the security headers on every answer, HTML or API (issue 11): a strict
    Content-Security-Policy with `frame-ancestors 'none'`, `X-Content-Type-Options: nosniff`,
    `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY` for older browsers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CSP if scope["path"].startswith(DOCS_PATHS) else STRICT_CSP
        extra = [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
