"""`/ingest/{path}`: the web UI's writes, forwarded to ingest's `/{path}` (`INGEST_URL`), so the page
writes on its own origin with its session cookie and CSRF header (`adapters.ingest_forward`).

The forward grants nothing and checks nothing itself: ingest authenticates the same sessions and API
keys, checks the permission each of its routes needs (`tracker:write`) and the caller's schools, and
its status and body come back unchanged. Not in the gateway's OpenAPI (ingest's own documents every
path); documented in the README and the gateway's README. Without `INGEST_URL`: 503 naming it.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from tidemark_gateway.adapters.ingest_forward import IngestUnavailable
from tidemark_gateway.entrypoints.deps import ServicesDep

router = APIRouter(include_in_schema=False)

PREFIX = "/ingest/"
"""The gateway's paths that go to ingest."""
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
BODILESS = frozenset({"GET", "HEAD", "DELETE"})


@router.api_route(PREFIX + "{path:path}", methods=METHODS)
async def forward(path: str, request: Request, built: ServicesDep) -> StreamingResponse:
    """Ingest's answer to the same request (`path` is ingest's, passed on as the client encoded it)."""
    if built.ingest is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the gateway does not forward to ingest: INGEST_URL is not set")
    body = None if request.method in BODILESS else request.stream()
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope["query_string"]
    # ingest's own path, "/v1/...", always relative to INGEST_URL (never "//host/...")
    target = b"/" + raw_path[len(PREFIX):].lstrip(b"/") + (b"?" + query if query else b"")
    try:
        answer = await built.ingest.forward(
            request.method, target, request.headers.items(), request.client.host if request.client else None, body,
        )
    except IngestUnavailable as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(error)) from error
    response = StreamingResponse(answer.body, status_code=answer.status,
                                 background=BackgroundTask(answer.response.aclose))
    response.raw_headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    return response
