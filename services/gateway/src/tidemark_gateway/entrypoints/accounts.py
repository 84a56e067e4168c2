"""What the account routes (`routes/auth.py`, `routes/admin.py`, `routes/audit.py`) share: the
identity use cases (503 without DATABASE_URL), their answers' shapes, and how their refusals are
answered (a 422 naming the field, 404 for another Trust's person or key exactly as for none, 409,
429 with Retry-After)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from tidemark_gateway.bootstrap import Services
from tidemark_identity.adapters.store import ApiKey, AuditEntry, InvalidCursor, Person
from tidemark_identity.service import Identity, IdentityError, Throttled
from tidemark_runtime.http import SafeJSONResponse, refusal


ACCOUNT_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: refusal("The body could not be read as JSON text (it is not UTF-8)"),
    503: refusal("Accounts are not configured (no DATABASE_URL)"),
}
"""The answers every account route may give besides its own."""


async def identity(request: Request) -> Identity:
    built: Services = request.app.state.services
    if built.identity is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "accounts are not configured (DATABASE_URL)")
    return built.identity


IdentityDep = Annotated[Identity, Depends(identity)]

Email = Annotated[str, Field(min_length=3, max_length=320, examples=["head@oak.sch.uk"])]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Schools = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100)]] | None,
    Field(
        description="null: every school of the Trust; else these schools (a school_leader or a teacher needs at least one)"
    ),
]


class User(BaseModel):
    user_id: str
    email: str
    name: str
    role: str
    schools: list[str] | None
    disabled: bool
    must_change_password: bool = Field(description="Signed in with a temporary password: may only change it")
    created_at: datetime

    @classmethod
    def of(cls, person: Person) -> User:
        return cls(
            user_id=person.person_id,
            email=person.email,
            name=person.name,
            role=person.role,
            schools=person.schools,
            disabled=person.disabled,
            must_change_password=person.must_change_password,
            created_at=person.created_at,
        )


class Key(BaseModel):
    key_id: str
    name: str
    role: str
    schools: list[str] | None
    created_by: str
    created_at: datetime
    expires_on: date | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> Key:
        return cls(**{field: getattr(key, field) for field in cls.model_fields})


class AuditLine(BaseModel):
    at: datetime
    actor_id: str
    action: str
    school_id: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditLine:
        return cls(
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            school_id=entry.school_id,
            detail=entry.detail,
        )


def field_error(field: str | None, message: str, where: str = "body") -> dict[str, Any]:
    return {"type": "value_error", "loc": [where, field] if field else [where], "msg": message}


async def identity_refused(_request: Request, error: IdentityError) -> Response:
    if error.status == status.HTTP_422_UNPROCESSABLE_CONTENT:
        return SafeJSONResponse(
            status_code=error.status, content={"detail": [field_error(error.field, error.detail)]}
        )
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Throttled) else None
    if error.status == status.HTTP_401_UNAUTHORIZED:
        headers = {"WWW-Authenticate": "Bearer"}
    return SafeJSONResponse(status_code=error.status, content={"detail": error.detail}, headers=headers)


async def invalid_cursor(_request: Request, error: InvalidCursor) -> Response:
    return SafeJSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": [field_error("cursor", str(error), "query")]},
    )


ACCOUNT_HANDLERS: dict[int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]] = {
    IdentityError: identity_refused,
    InvalidCursor: invalid_cursor,
}
