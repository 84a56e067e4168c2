"""Report and dashboard routes answer with the JSON that `service_layer.answers` renders (once per
view while nothing it read moves): the route names its response model, which the OpenAPI shows,
and its view, the endpoint and its parsed query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from fastapi import Response
from pydantic import TypeAdapter

from tidemark_gateway.service_layer.answers import Answers
from tidemark_runtime.settings import Principal

T = TypeVar("T")


SHAPES: dict[Any, TypeAdapter[Any]] = {}


def shape(model: Any) -> TypeAdapter[Any]:
    """How an answer of `model` is rendered: as FastAPI renders a route's response model (built once)."""
    if model not in SHAPES:
        SHAPES[model] = TypeAdapter(model)
    return SHAPES[model]


async def answered(
    answers: Answers, caller: Principal, model: type[T], view: Hashable, compute: Callable[[], Awaitable[T]]
) -> Response:
    return Response(await answers.render(caller, view, shape(model), compute), media_type="application/json")
