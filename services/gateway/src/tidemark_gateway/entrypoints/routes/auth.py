"""Signing in and out (the web UI's session): POST /v1/auth/login, POST /v1/auth/logout,
GET /v1/auth/me, POST /v1/auth/password.

The session is a cookie holding an opaque random id (HttpOnly, SameSite=Strict, Secure over https,
only its hash stored), a new one at every sign-in; every state-changing request made with it must
carry its CSRF token in X-CSRF-Token (from the sign-in's answer, or GET /v1/auth/me).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from tidemark_gateway.bootstrap import Services

from tidemark_gateway.entrypoints.accounts import ACCOUNT_RESPONSES, Email, IdentityDep, Password, User
from tidemark_identity.domain import secrets
from tidemark_identity.oidc import OidcClient, Pending, SsoRefused
from tidemark_identity.service import SignedIn, SignInRefused
from tidemark_runtime.auth import CSRF_HEADER, SESSION_COOKIE, Authenticated, GuardedRoute
from tidemark_runtime.http import refusal

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/v1/auth", tags=["accounts"], route_class=GuardedRoute, responses=ACCOUNT_RESPONSES
)


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
        SESSION_COOKIE,
        signed.session_secret,
        max_age=lifetime_seconds,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
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
    credentials: Credentials,
    request: Request,
    response: Response,
    identity: IdentityDep,
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
        user=User.of(signed.person),
        trust_id=caller.trust_id,
        role=caller.role,
        schools=sorted(caller.schools) if caller.schools is not None else None,
        permissions=sorted(caller.permissions),
        csrf_token=signed.csrf_token,
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: refusal("Not signed in"), 403: refusal(f"Missing or wrong {CSRF_HEADER}")},
)
async def logout(caller: Authenticated, identity: IdentityDep, response: Response) -> None:
    """Sign out: the session ends on the server, and the cookie is cleared."""
    await identity.sign_out(caller)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


@router.get("/me", responses={401: refusal("Not signed in")})
async def me(
    caller: Authenticated,
    identity: IdentityDep,
    session: Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)] = None,
) -> Session:
    """Who the caller is: the person (session) or the API key's role, its schools and permissions."""
    person = await identity.me(caller)
    return Session(
        user=User.of(person) if person else None,
        trust_id=caller.trust_id,
        role=caller.role,
        schools=sorted(caller.schools) if caller.schools is not None else None,
        permissions=sorted(caller.permissions),
        csrf_token=secrets.csrf_token(session) if session and caller.session_id else None,
    )


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: refusal("Not signed in"), 403: refusal(f"Missing or wrong {CSRF_HEADER}")},
)
async def change_password(
    change: PasswordChange,
    caller: Authenticated,
    identity: IdentityDep,
    request: Request,
    response: Response,
    session: Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)] = None,
) -> None:
    """Change one's own password (at least 12 characters, not a common one). Every session of the
    person ends; this browser is signed in again with a new one."""
    await identity.change_password(caller, change.current_password, change.new_password)
    person = await identity.me(caller)
    if person is not None and session is not None:
        signed = await identity.sign_in(
            person.email, change.new_password, request.client.host if request.client else None
        )
        start_session(request, response, signed, session_lifetime(identity))


# -- single sign-on (OpenID Connect) ---------------------------------------------------------------

SSO_COOKIE = "tidemark_oidc"
"""State, nonce and PKCE verifier between the redirect to the issuer and its callback: SameSite=Lax,
since the callback is a top-level navigation from the issuer's site."""
SSO_PATH = "/v1/auth/oidc"


class SingleSignOn(BaseModel):
    enabled: bool
    label: str | None


async def sso_of(request: Request) -> OidcClient:
    built: Services = request.app.state.services
    if built.sso is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "single sign-on is not configured (OIDC_ISSUER)")
    return built.sso


SsoDep = Annotated[OidcClient, Depends(sso_of)]


def callback_url(request: Request) -> str:
    configured: str | None = request.app.state.settings.oidc_redirect_url
    return configured or str(request.url_for("oidc_callback"))


@router.get("/oidc")
async def sso_offered(request: Request) -> SingleSignOn:
    """Whether single sign-on is configured, and what the sign-in page's button says."""
    built: Services = request.app.state.services
    label = request.app.state.settings.oidc_label if built.sso is not None else None
    return SingleSignOn(enabled=built.sso is not None, label=label)


@router.get(
    "/oidc/start",
    response_class=RedirectResponse,
    status_code=status.HTTP_303_SEE_OTHER,
    responses={404: refusal("Single sign-on is not configured")},
)
async def sso_start(request: Request, sso: SsoDep) -> RedirectResponse:
    """Send the browser to the issuer to sign in."""
    url, pending = await sso.start(callback_url(request))
    response = RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SSO_COOKIE,
        pending.encode(),
        max_age=600,
        path=SSO_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get(
    "/oidc/callback",
    response_class=RedirectResponse,
    status_code=status.HTTP_303_SEE_OTHER,
    responses={404: refusal("Single sign-on is not configured")},
)
async def oidc_callback(
    request: Request,
    sso: SsoDep,
    identity: IdentityDep,
    code: Annotated[str, Query(max_length=4096)],
    state: Annotated[str, Query(max_length=512)],
    pending: Annotated[str | None, Cookie(alias=SSO_COOKIE, include_in_schema=False)] = None,
    current: Annotated[str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)] = None,
) -> RedirectResponse:
    """The issuer's answer: the person whose subject (or verified email) it names is signed in, and
    the browser goes to the dashboard; otherwise back to the sign-in page, told that it failed."""
    failed = RedirectResponse("/?sso=failed", status_code=status.HTTP_303_SEE_OTHER)
    failed.delete_cookie(SSO_COOKIE, path=SSO_PATH)
    kept = Pending.decode(pending or "")
    if kept is None:
        return failed
    address = request.client.host if request.client else None
    try:
        signed_on = await sso.finish(callback_url(request), code, state, kept)
        signed = await identity.sign_in_by_subject(
            signed_on.subject, signed_on.email, address, replaces=current
        )
    except (SsoRefused, SignInRefused) as error:
        log.warning("single sign-on refused: %s", error)
        return failed
    response = RedirectResponse("/#/", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SSO_COOKIE, path=SSO_PATH)
    start_session(request, response, signed, session_lifetime(identity))
    return response
