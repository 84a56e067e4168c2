"""Who may do what over HTTP: every request is scoped to one Trust, and every endpoint states the
permission it needs.

Three parts, each the only place for its concern:

- the principal lookup (`PrincipalLookup`): who the credentials a request presents (a bearer API
  key, or the web UI's session cookie with its CSRF token) speak for, re-read on every request so
  that a disabled person or a revoked key is refused at once. `tidemark_identity.lookup` provides
  it (accounts and keys in the SQL store, and the `TIDEMARK_TOKENS` fallback for development and
  tests); an app's composition root installs it as `app.state.principals`.
- the grants: which `Permission`s a principal holds. Its role's, from the one table of
  `tidemark_identity.domain.roles`, written into the `Principal` by the lookup.
- the check (`require(permission)`, `authorize`): 401 without a known credential, 403 without the
  permission. Routes declare it as a dependency; `GuardedRoute` writes it into their OpenAPI.
  Routes name permissions, never roles.
"""

from __future__ import annotations

import functools
import hmac
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request, params, status
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from tidemark_runtime.http import refusal
from tidemark_runtime.principal import Permission as Permission
from tidemark_runtime.principal import Principal

SESSION_COOKIE = "tidemark_session"
"""The web UI's session cookie (HttpOnly, SameSite=Strict): an opaque random id."""
CSRF_HEADER = "X-CSRF-Token"
"""The header that must carry the session's CSRF token on every state-changing request made with the
session cookie (bearer API keys need none: a browser never sends them by itself)."""

_bearer = HTTPBearer(auto_error=False, description="An API key (`tmk_...`), or a token of TIDEMARK_TOKENS")
_session = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False,
    description=f"The web UI's session (POST /v1/auth/login); state-changing requests also send {CSRF_HEADER}",
)

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
SessionCookie = Annotated[str | None, Depends(_session)]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


REFUSALS: Mapping[Permission, str] = {
    Permission.READ_FIGURES: "this caller may not read figures (figures:read)",
    Permission.READ_SMALL_GROUPS: "this caller may not see small groups' percentages (figures:small-groups)",
    Permission.READ_PUPILS: "this caller may not see pupil-level data (pupils:read)",
    Permission.WRITE_TRACKER: "this caller may not write tracker data (tracker:write: an ingest key or a teacher)",
    Permission.MANAGE_PEOPLE: "only a trust_admin may manage people and keys (people:manage)",
    Permission.READ_AUDIT: "only a trust_admin may read the audit trail (audit:read)",
}
"""The 403 `detail` for a caller without each permission."""


def permissions_of(principal: Principal) -> frozenset[Permission]:
    """Everything `principal` may do (its role's permissions, written in by the lookup)."""
    return principal.permissions


# -- the principal lookup ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Presented:
    """The credentials a request presents, and what the lookup needs to judge them."""

    bearer: str | None
    """A bearer credential (an API key), if any: it wins over a session cookie."""
    session: str | None
    """The session cookie, if any."""
    csrf: str | None
    """The CSRF header, if any."""
    state_changing: bool
    """Whether the request may change state (not GET, HEAD or OPTIONS): a session then needs its CSRF token."""
    address: str | None = None


class PrincipalLookup(Protocol):
    """Who the presented credentials speak for (None: nobody, a 401). May raise an HTTPException of
    its own (a 403 for a session request without its CSRF token)."""

    async def __call__(self, presented: Presented, /) -> Principal | None: ...


def presented(request: Request, bearer: str | None, session: str | None) -> Presented:
    return Presented(
        bearer=bearer, session=session, csrf=request.headers.get(CSRF_HEADER),
        state_changing=request.method not in SAFE_METHODS,
        address=request.client.host if request.client else None,
    )


# -- the check --------------------------------------------------------------------------------------


async def identify(request: Request, bearer: str | None, session: str | None) -> Principal:
    """The caller, through the app's principal lookup (`app.state.principals`); 401 when unknown."""
    if bearer is None and session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in: no API key and no session",
                            headers={"WWW-Authenticate": "Bearer"})
    lookup: PrincipalLookup = request.app.state.principals
    principal = await lookup(presented(request, bearer, session))
    if principal is None:
        what = "unknown, expired or revoked API key" if bearer is not None else "session expired or signed out"
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, what, headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal
    return principal


async def authenticate(request: Request, credentials: BearerCredentials, session: SessionCookie) -> Principal:
    """The caller of a request: by its bearer API key, else by its session cookie."""
    return await identify(request, credentials.credentials if credentials else None, session)


Authenticated = Annotated[Principal, Depends(authenticate)]


async def still_speaks_for(request: Request, principal: Principal) -> bool:
    """Whether the request's credentials still speak for `principal`, unchanged: a long-lived answer
    (the live stream) asks at each heartbeat, and ends when a key was revoked, a person disabled or
    signed out, or a role or scope changed."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    session = request.cookies.get(SESSION_COOKIE)
    lookup: PrincipalLookup = request.app.state.principals
    now = await lookup(presented(request, bearer if scheme.lower() == "bearer" and bearer else None, session))
    return now == principal


def authorize(principal: Principal, permission: Permission) -> Principal:
    """The one permission check: 403 unless `principal` holds `permission`."""
    if permission not in permissions_of(principal):
        raise HTTPException(status.HTTP_403_FORBIDDEN, REFUSALS[permission])
    return principal


@dataclass(frozen=True, slots=True)
class Requirement:
    """A permission a route's dependency checks, for the OpenAPI (`GuardedRoute`)."""

    permission: Permission
    when: str | None = None
    """The condition under which it is needed (e.g. "pupils=true"); None: always."""


_REQUIREMENTS: dict[Callable[..., Any], tuple[Requirement, ...]] = {}
"""Dependency -> the permissions it checks."""


def declares(*requirements: Requirement) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a dependency that calls `authorize` itself (e.g. only when a parameter asks for more),
    so that its routes' OpenAPI states what it checks."""

    def mark(dependency: Callable[..., Any]) -> Callable[..., Any]:
        _REQUIREMENTS[dependency] = _REQUIREMENTS.get(dependency, ()) + requirements
        return dependency

    return mark


@functools.cache
def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """The dependency of a route that needs `permission`: the authenticated caller, if it holds it.
    One function per permission, so FastAPI checks it once per request however often it is named.
    (The dependencies here are coroutines, though they never wait: FastAPI runs a plain function
    in a worker thread, which costs more than the check.)"""

    async def dependency(principal: Authenticated) -> Principal:
        return authorize(principal, permission)

    dependency.__name__ = f"require_{permission.name.lower()}"
    declares(Requirement(permission))(dependency)
    return dependency


# -- the OpenAPI of the check -----------------------------------------------------------------------


def requirements_of(path: str, endpoint: Callable[..., Any], dependencies: Sequence[params.Depends] = ()) -> list[Requirement]:
    """Every permission checked by the dependencies of `endpoint` (at any depth) and by `dependencies`."""
    roots = [get_dependant(path=path, call=endpoint)]
    roots += [get_dependant(path=path, call=d.dependency) for d in dependencies if d.dependency is not None]

    def walk(dependant: Dependant) -> Iterator[Requirement]:
        if dependant.call is not None:
            yield from _REQUIREMENTS.get(dependant.call, ())
        for sub in dependant.dependencies:
            yield from walk(sub)

    return list(dict.fromkeys(requirement for root in roots for requirement in walk(root)))


def permission_line(requirements: Sequence[Requirement]) -> str:
    """One line for an operation's description, e.g. "**Permission:** `figures:read`."; the roles
    that hold each permission are in the README ("Roles and permissions")."""
    always = [r for r in requirements if r.when is None]
    sometimes = [r for r in requirements if r.when is not None]
    parts = [f"`{r.permission.value}`" for r in always]
    line = f"**Permission:** {', '.join(parts) or 'none'}."
    for r in sometimes:
        line += f" With {r.when}, also `{r.permission.value}`."
    return line


class GuardedRoute(APIRoute):
    """A route whose OpenAPI states the permissions its dependencies check (a line at the end of
    its description) and documents the 401 and 403 answers of that check. Use it as the
    `route_class` of a router whose routes all `require` something."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        requirements = requirements_of(path, endpoint, kwargs.get("dependencies") or ())
        if requirements:
            description = kwargs.get("description") or inspect.cleandoc(endpoint.__doc__ or "")
            line = permission_line(requirements)
            if line not in description:
                kwargs["description"] = f"{description}\n\n{line}".strip()
            kwargs["responses"] = _refusals(requirements, kwargs.get("responses") or {})
        super().__init__(path, endpoint, **kwargs)


def _refusals(
    requirements: Sequence[Requirement], responses: Mapping[int | str, dict[str, Any]]
) -> dict[int | str, dict[str, Any]]:
    missing = " or ".join(f"`{r.permission.value}`" + (f" (with {r.when})" if r.when else "") for r in requirements)
    forbidden = f"The caller's role lacks {missing}"
    own = responses.get(403, {}).get("description")
    return {
        **responses,
        401: refusal("Not signed in: no API key or session, or one that is unknown, expired or revoked "
                     "(`WWW-Authenticate: Bearer`)"),
        403: refusal(f"{forbidden}; or: {own}" if own else forbidden),
    }


def check_secret(credentials: HTTPAuthorizationCredentials | None, expected: SecretStr | None, what: str) -> None:
    """Admit only the bearer of one shared secret (a service's, not a person's); with no secret
    configured, nobody."""
    if credentials is None or expected is None or not hmac.compare_digest(
        expected.get_secret_value().encode(), credentials.credentials.encode()
    ):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"this endpoint needs the {what}",
                            headers={"WWW-Authenticate": "Bearer"})
