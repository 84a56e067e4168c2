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
from fastapi import Response
from pydantic import TypeAdapter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidemark_gateway.service_layer.answers import Answers, ViewKey, view_key
from tidemark_runtime.settings import Principal

T = TypeVar("T")


SHAPES: dict[Any, TypeAdapter[Any]] = {}


def shape(model: Any) -> TypeAdapter[Any]:
    """How an answer of `model` is rendered: as FastAPI renders a route's response model (built once)."""
    if model not in SHAPES:
        SHAPES[model] = TypeAdapter(model)
    return SHAPES[model]


@dataclass
class Answered:
    """The view a request was answered with through its route (set by `answered`)."""

    key: ViewKey | None = None


ANSWERED: ContextVar[Answered | None] = ContextVar("tidemark_gateway_answered", default=None)


async def answered(
    answers: Answers, caller: Principal, model: type[T], view: Hashable, compute: Callable[[], Awaitable[T]]
) -> Response:
    body = await answers.render(caller, view, shape(model), compute)
    if (slot := ANSWERED.get()) is not None:
        slot.key = view_key(caller, view)
    return Response(body, media_type="application/json")


MAX_REMEMBERED_REQUESTS = 10_000
"""Requests (Authorization header, path, query string) remembered with the view they were answered with."""

JSON_HEADERS = [(b"content-type", b"application/json")]


class KeptAnswers:
    """ASGI middleware: a GET answered before through its route, with the same Authorization header,
    path and query string, is answered from the view's kept answer while that is current, without
    FastAPI parsing, validating and authorising it again. All of that gave this very request its
    view once and would give the same again: tokens and the calendar are configuration, and the
    academic years accepted only grow. The answer is served only after a check that started after
    the request arrived found nothing it read moved (`Answers.kept`), so it is exactly what the
    route would answer; anything else (a request not seen before, nothing kept, something moved, a
    computation under way, the check failing: Redis away, a Trust being restored) goes through the
    route, which answers as it always does. Add it inside the body limit."""

    def __init__(self, app: ASGIApp, max_requests: int = MAX_REMEMBERED_REQUESTS) -> None:
        self.app = app
        self._views: LRUCache[tuple[bytes, str, bytes], tuple[ViewKey, Any]] = LRUCache(max_requests)
        self.served = 0
        """Requests answered here, without the route."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = _authorization(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if authorization is None:
            await self.app(scope, receive, send)
            return
        request = (authorization, scope["path"], scope["query_string"])
        if (kept := self._views.get(request)) is not None and (body := await _kept(scope, kept[0])) is not None:
            self.served += 1
            scope["route"] = kept[1]  # the route it stands for, as the request metrics and traces name it
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
        if slot.key is not None and status[0] == 200 and json_answer[0]:  # an export (CSV, Excel) is made anew
            self._views[request] = (slot.key, scope.get("route"))


def _authorization(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value)
    return None


async def _kept(scope: Scope, key: ViewKey) -> bytes | None:
    answers: Answers = scope["app"].state.services.answers
    try:
        return await answers.kept(key)
    except Exception:  # noqa: BLE001 - the route meets the same trouble and answers it (503)
        return None
