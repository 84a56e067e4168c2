"""Observability of every HTTP app: the request middleware (request id, latency by route template
and status, the server span) and `GET /metrics`.

A service registers it in its app factory, in one call: `instrument(app, "gateway")` for a FastAPI
app, `ObservedAsgiFastStream` for a projection process. `/metrics` needs no token (like /healthz
it says nothing about a Trust) and is not in the OpenAPI or AsyncAPI documents.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidemark_runtime.observability import tracing
from tidemark_runtime.observability.logs import REQUEST_ID
from tidemark_runtime.observability.metrics import HTTP_REQUEST_SECONDS, Refresher, exposition, refresh_all

REQUEST_ID_HEADER = "X-Request-ID"
METRICS_PATH = "/metrics"
UNMATCHED = "(unmatched)"
"""The route of a request no route answered (a 404): raw paths would make a series per scan."""
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
"""A client's request id is kept when it is this tame, else one is made up (ids land in logs)."""
SERVICE_ATTRIBUTE = "tidemark_service"


def service_of(app: Any, default: str = "tidemark") -> str:
    """The service name an app was instrumented under (`serve` names the process's logs and traces by it)."""
    return str(getattr(app, SERVICE_ATTRIBUTE, default))


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/v1/replay/{trust_id}/...`), known once routed."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED


class HttpObserver:
    """ASGI middleware: gives every request an id (its X-Request-ID when tame, else a new one), makes
    it the log context and echoes it in the response; times the request to its response's first
    byte (a live event stream is timed to its opening, not its end) by route template and status;
    and serves it in a server span continuing the caller's `traceparent` (when tracing is on)."""

    def __init__(self, app: ASGIApp, service: str, route_of: Callable[[Scope], str] = route_template) -> None:
        self.app = app
        self.service = service
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        method = scope["method"]
        started = time.perf_counter()
        answered: list[int] = []
        token = REQUEST_ID.set(request_id)

        parent = tracing.request_context(scope["headers"]) if tracing.enabled() else None
        with tracing.span(method, SpanKind.SERVER, parent,
                          attributes={"http.request.method": method, "url.path": scope["path"]}) as span:

            async def observed(message: Message) -> None:
                if message["type"] == "http.response.start" and not answered:
                    answered.append(message["status"])
                    message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                    self._observe(scope, method, message["status"], started, span)
                await send(message)

            try:
                await self.app(scope, receive, observed)
            finally:
                if not answered:  # the app raised before answering: the server answers 500
                    self._observe(scope, method, 500, started, span)
                REQUEST_ID.reset(token)

    def _observe(self, scope: Scope, method: str, status: int, started: float, span: Any) -> None:
        route = self.route_of(scope)
        HTTP_REQUEST_SECONDS.labels(self.service, method, route, str(status)).observe(time.perf_counter() - started)
        if span is not None:
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _ACCEPTED_ID.fullmatch(given):
                return str(given)
            break
    return uuid.uuid4().hex


def instrument(app: FastAPI, service: str, refreshers: Sequence[Refresher] = ()) -> FastAPI:
    """Register observability on a FastAPI app: the request middleware and `GET /metrics` (which
    first runs `refreshers`, the gauges read from elsewhere)."""

    async def metrics(_request: Request) -> Response:
        await refresh_all(refreshers)
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    app.add_api_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
    app.add_middleware(HttpObserver, service=service)
    setattr(app, SERVICE_ATTRIBUTE, service)
    return app


class ObservedAsgiFastStream(AsgiFastStream):
    """A FastStream ASGI app (a projection process) with the same observability: every HTTP route
    observed by `HttpObserver` (routes are exact paths, so the path is the template), and
    `GET /metrics`, which runs `refreshers` first."""

    def __init__(self, *args: Any, service: str, refreshers: Sequence[Refresher] = (), **kwargs: Any) -> None:
        refreshed = tuple(refreshers)

        @get(include_in_schema=False)
        async def metrics(scope: Any) -> AsgiResponse:
            await refresh_all(refreshed)
            body, content_type = exposition()
            return AsgiResponse(body, 200, headers={"content-type": content_type})

        kwargs["asgi_routes"] = [*kwargs.get("asgi_routes", ()), (METRICS_PATH, metrics)]
        super().__init__(*args, **kwargs)
        setattr(self, SERVICE_ATTRIBUTE, service)
        self._observed = HttpObserver(super().__call__, service, self._route_of)

    def _route_of(self, scope: Scope) -> str:
        path = scope["path"]
        return str(path) if any(path == route for route, _app in self.routes) else UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._observed(scope, receive, send)
