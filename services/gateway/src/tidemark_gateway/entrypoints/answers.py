"""Report and dashboard routes answer with the JSON that `service_layer.answers` renders (once per
view while nothing it read moves): the route names its response model, which the OpenAPI shows,
and its view, the endpoint and its parsed query.

A request the gateway has answered before through its route is answered again by `KeptAnswers`
without the route, while its answer is current (see there)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from cachetools import LRUCache
from fastapi import Request, Response
from pydantic import TypeAdapter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidemark_gateway.service_layer.answers import Answers, ViewKey, view_key
from tidemark_runtime.auth import SESSION_COOKIE, PrincipalLookup, presented
from tidemark_runtime.principal import Principal

T = TypeVar("T")


SHAPES: dict[Any, TypeAdapter[Any]] = {}


def shape(model: Any) -> TypeAdapter[Any]:
    """How an answer of `model` is rendered: as FastAPI renders a route's response model (built once)."""
    if model not in SHAPES:
        SHAPES[model] = TypeAdapter(model)
    return SHAPES[model]


@dataclass
class Answered:
    """The view a request was answered with through its route, and for whom (set by `answered`)."""

    key: ViewKey | None = None
    caller: Principal | None = None
    keep: bool = True
    """False when answering had an effect besides the answer (an audited pupil list): always answer
    such a request through its route."""


def not_kept() -> None:
    """Answer this request through its route every time (`KeptAnswers` never answers it): its route
    does more than answer (it records a pupil list in the audit trail), or its answer depends on more
    than the request and the read model (today's date)."""
    if (slot := ANSWERED.get()) is not None:
        slot.keep = False


@dataclass(frozen=True, slots=True)
class Remembered:
    """What a request was answered with through its route: the view, the route (which names it in
    the request metrics and traces) and the caller its credentials spoke for."""

    key: ViewKey
    route: Any
    caller: Principal


ANSWERED: ContextVar[Answered | None] = ContextVar("tidemark_gateway_answered", default=None)


async def answered(
    answers: Answers, caller: Principal, model: type[T], view: Hashable, compute: Callable[[], Awaitable[T]]
) -> Response:
    body = await answers.render(caller, view, shape(model), compute)
    if (slot := ANSWERED.get()) is not None:
        slot.key, slot.caller = view_key(caller, view), caller
    return Response(body, media_type="application/json")


MAX_REMEMBERED_REQUESTS = 10_000
"""Requests (Authorization header, path, query string) remembered with the view they were answered with."""

JSON_HEADERS = [(b"content-type", b"application/json")]


class KeptAnswers:
    """ASGI middleware: a GET answered before through its route, with the same credentials (bearer
    key or session cookie), path and query string, is answered from the view's kept answer while
    that is current, without FastAPI parsing and validating it again. That gave this very request
    its view once and would give the same again: the calendar is configuration, and the academic
    years accepted only grow. The credentials are looked up again on every request, as the route
    would (a revoked key, a disabled person, a changed role or scope goes through the route, which
    refuses or answers anew). The answer is served only after a check that started after the
    request arrived found nothing it read moved (`Answers.kept`), so it is exactly what the route
    would answer; anything else (a request not seen before, nothing kept, something moved, a
    computation under way, the check failing: Redis away, a Trust being restored) goes through the
    route, which answers as it always does. Add it inside the body limit."""

    def __init__(self, app: ASGIApp, max_requests: int = MAX_REMEMBERED_REQUESTS) -> None:
        self.app = app
        self._views: LRUCache[tuple[str | None, str | None, str, bytes], Remembered] = LRUCache(max_requests)
        self.served = 0
        """Requests answered here, without the route."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        bearer, session = _credentials(Request(scope))
        if bearer is None and session is None:
            await self.app(scope, receive, send)
            return
        request = (bearer, session, scope["path"], scope["query_string"])
        if (kept := self._views.get(request)) is not None and (body := await _kept(scope, kept, bearer, session)):
            self.served += 1
            scope["route"] = kept.route
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(len(body)).encode()), *JSON_HEADERS]})
            await send({"type": "http.response.body", "body": body})
            return
        slot, status, json_answer = Answered(), [0], [False]

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                json_answer[0] = dict(message.get("headers", [])).get(b"content-type", b"").startswith(
                    b"application/json")
            await send(message)

        token = ANSWERED.set(slot)
        try:
            await self.app(scope, receive, tracked)
        finally:
            ANSWERED.reset(token)
        if slot.keep and slot.key is not None and slot.caller is not None and status[0] == 200 and json_answer[0]:
            # an export (CSV, Excel) is made anew
            self._views[request] = Remembered(slot.key, scope.get("route"), slot.caller)


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """The bearer credential and the session cookie a request presents (as the route reads them)."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    return (bearer if scheme.lower() == "bearer" and bearer else None), request.cookies.get(SESSION_COOKIE)


async def _kept(scope: Scope, kept: Remembered, bearer: str | None, session: str | None) -> bytes | None:
    """The kept answer, if the credentials still speak for the caller it was made for and it is current."""
    app = scope["app"]
    answers: Answers = app.state.services.answers
    lookup: PrincipalLookup = app.state.principals
    try:
        if await lookup(presented(Request(scope), bearer, session)) != kept.caller:
            return None
        return await answers.kept(kept.key)
    except Exception:  # noqa: BLE001 - the route meets the same trouble and answers it (401, 403, 503)
        return None
