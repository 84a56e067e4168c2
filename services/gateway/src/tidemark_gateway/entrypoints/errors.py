"""How the gateway answers what it refuses: each domain refusal as the HTTP answer it means. Answers
that echo input are `SafeJSONResponse`s, so any text a client sent can be encoded."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tidemark_gateway.adapters.redis_reader import ReadModelRestoring
from tidemark_gateway.domain.reports import SchoolViewUnavailable
from tidemark_gateway.domain.scope import ClassNotVisible, SchoolNotVisible, UnknownClass, UnknownSchool
from tidemark_runtime.http import SafeJSONResponse


def query_error(parameter: str, message: str, value: Any) -> dict[str, Any]:
    """One error of a 422, shaped like FastAPI's own, naming the query parameter."""
    return {"type": "value_error", "loc": ["query", parameter], "msg": message, "input": value}


async def invalid_request(_request: Request, error: RequestValidationError) -> Response:
    """FastAPI's 422, encodable whatever the client sent."""
    return SafeJSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                            content={"detail": jsonable_encoder(error.errors())})


async def school_not_visible(_request: Request, error: SchoolNotVisible) -> Response:
    return SafeJSONResponse(status_code=status.HTTP_403_FORBIDDEN, content={"detail": str(error)})


async def unknown_school(_request: Request, error: UnknownSchool) -> Response:
    return SafeJSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                            content={"detail": [query_error("school", str(error), error.schools)]})


async def class_not_visible(_request: Request, error: ClassNotVisible) -> Response:
    return SafeJSONResponse(status_code=status.HTTP_403_FORBIDDEN, content={"detail": str(error)})


async def unknown_class(_request: Request, error: UnknownClass) -> Response:
    return SafeJSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                            content={"detail": [query_error("class", str(error), error.classes)]})


async def school_view_unavailable(_request: Request, error: SchoolViewUnavailable) -> Response:
    return SafeJSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                            content={"detail": [query_error("view", str(error), "school")]})


async def read_model_restoring(_request: Request, error: ReadModelRestoring) -> Response:
    return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "10"},
                        content={"detail": f"this Trust's figures are being rebuilt ({error.reason}); try again shortly"})


async def redis_unavailable(_request: Request, _error: Exception) -> Response:
    return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content={"detail": "Redis is unavailable"})


EXCEPTION_HANDLERS: dict[int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]] = {
    RequestValidationError: invalid_request,
    SchoolNotVisible: school_not_visible,
    UnknownSchool: unknown_school,
    ClassNotVisible: class_not_visible,
    UnknownClass: unknown_class,
    SchoolViewUnavailable: school_view_unavailable,
    ReadModelRestoring: read_model_restoring,
    RedisConnectionError: redis_unavailable,
    RedisTimeoutError: redis_unavailable,
}
