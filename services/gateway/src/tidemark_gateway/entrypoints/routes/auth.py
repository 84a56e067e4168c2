"""Signing in and out (the web UI's session): POST /v1/auth/login, POST /v1/auth/logout,
GET /v1/auth/me, POST /v1/auth/password.

The session is a cookie holding an opaque random id (HttpOnly, SameSite=Strict, Secure over https,
only its hash stored), a new one at every sign-in; every state-changing request made with it must
carry its CSRF token in X-CSRF-Token (from the sign-in's answer, or GET /v1/auth/me).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Request, Response, status
from pydantic import BaseModel, Field

from tidemark_gateway.entrypoints.accounts import ACCOUNT_RESPONSES, Email, IdentityDep, Password, User
from tidemark_identity.domain import secrets
from tidemark_identity.service import SignedIn
from tidemark_runtime.auth import CSRF_HEADER, SESSION_COOKIE, Authenticated, GuardedRoute
from tidemark_runtime.http import refusal

router = APIRouter(prefix="/v1/auth", tags=["accounts"], route_class=GuardedRoute,
                   responses=ACCOUNT_RESPONSES)


class Credentials(BaseModel):
    email: Email
    password: Password


class Session(BaseModel):
    user: User | None = Field(description="The person signed in (null for an API key)")
    trust_id: str
    role: str
    schools: list[str] | None
    permissions: list[str]
    csrf_token: str | None = Field(
        description=f"Send it as {CSRF_HEADER} on every state-changing request made with the session cookie; "
        "null for an API key (which needs none)"
    )


class PasswordChange(BaseModel):
    current_password: Password
    new_password: Password


def start_session(request: Request, response: Response, signed: SignedIn, lifetime_seconds: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, signed.session_secret, max_age=lifetime_seconds, path="/", httponly=True,
        samesite="strict", secure=request.url.scheme == "https",
    )


def session_lifetime(identity: IdentityDep) -> int:
    return int(identity.policy.absolute.total_seconds())


@router.post(
    "/login",
    responses={
        401: refusal("Wrong email or password (the same answer for an unknown email)"),
        429: refusal("Too many failed sign-ins for this account or address: wait `Retry-After` seconds"),
    },
)
async def login(
    credentials: Credentials, request: Request, response: Response, identity: IdentityDep,
    current: Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)] = None,
) -> Session:
    """Sign in with email and password: sets the session cookie (replacing any session this browser
    had) and answers who signed in, with the session's CSRF token. A person with a temporary password
    holds no permission until they change it (POST /v1/auth/password)."""
    address = request.client.host if request.client else None
    signed = await identity.sign_in(credentials.email, credentials.password, address, replaces=current)
    start_session(request, response, signed, session_lifetime(identity))
    caller = await identity.session_principal(signed.session_secret)
    assert caller is not None
    return Session(
        user=User.of(signed.person), trust_id=caller.trust_id, role=caller.role,
        schools=sorted(caller.schools) if caller.schools is not None else None,
        permissions=sorted(caller.permissions), csrf_token=signed.csrf_token,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT,
             responses={401: refusal("Not signed in"), 403: refusal(f"Missing or wrong {CSRF_HEADER}")})
async def logout(caller: Authenticated, identity: IdentityDep, response: Response) -> None:
    """Sign out: the session ends on the server, and the cookie is cleared."""
    await identity.sign_out(caller)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


@router.get("/me", responses={401: refusal("Not signed in")})
async def me(
    caller: Authenticated, identity: IdentityDep,
    session: Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)] = None,
) -> Session:
    """Who the caller is: the person (session) or the API key's role, its schools and permissions."""
    person = await identity.me(caller)
    return Session(
        user=User.of(person) if person else None, trust_id=caller.trust_id, role=caller.role,
        schools=sorted(caller.schools) if caller.schools is not None else None,
        permissions=sorted(caller.permissions),
        csrf_token=secrets.csrf_token(session) if session and caller.session_id else None,
    )


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT,
             responses={401: refusal("Not signed in"), 403: refusal(f"Missing or wrong {CSRF_HEADER}")})
async def change_password(
    change: PasswordChange, caller: Authenticated, identity: IdentityDep, request: Request, response: Response,
    session: Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)] = None,
) -> None:
    """Change one's own password (at least 12 characters, not a common one). Every session of the
    person ends; this browser is signed in again with a new one."""
    await identity.change_password(caller, change.current_password, change.new_password)
    person = await identity.me(caller)
    if person is not None and session is not None:
        signed = await identity.sign_in(person.email, change.new_password, request.client.host if request.client else None)
        start_session(request, response, signed, session_lifetime(identity))
