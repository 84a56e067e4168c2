"""Who may do what over HTTP: every request is scoped to one Trust, and every endpoint states the
permission it needs.

Three parts, each the only place for its concern:

- the principal lookup (`PrincipalLookup`): who a bearer credential speaks for. Today a token of
  `TIDEMARK_TOKENS` (`token_lookup`); an app's composition root installs it as
  `app.state.principals`.
- the grants (`permissions_of`): which `Permission`s a principal holds. Today from its token's
  `role` (`ROLE_PERMISSIONS`) and its `see_pupils` flag.
- the check (`require(permission)`, `authorize`): 401 without a known credential, 403 without the
  permission. Routes declare it as a dependency; `GuardedRoute` writes it into their OpenAPI.

Accounts and roles (trust_admin, trust_leader, school_leader, analyst, ingest and reader API keys)
will replace the token roles by changing the lookup and the grants only: routes name permissions,
never roles.
"""

from __future__ import annotations

import functools
import hmac
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, HTTPException, Request, params, status
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from tidemark_runtime.http import refusal
from tidemark_runtime.settings import Principal

_bearer = HTTPBearer(auto_error=False, description="A token from TIDEMARK_TOKENS")

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class Permission(StrEnum):
    """What an endpoint lets its caller do, always within the caller's Trust and schools."""

    READ_FIGURES = "figures:read"
    """Dashboards, reports, reference lists and live updates: counts and percentages only."""
    READ_PUPILS = "pupils:read"
    """Pupil-level lists (the pupils behind a drill-down)."""
    WRITE_TRACKER = "tracker:write"
    """Send schools, pupils and results, and lock or unlock them (ingest)."""


class Grant(NamedTuple):
    holders: str
    """Who holds the permission today, as the OpenAPI says it."""
    refusal: str
    """The 403 `detail` for a caller without it."""


# -- the grants: the one place that maps today's token roles to permissions ----------------------

ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "viewer": frozenset({Permission.READ_FIGURES}),
    "ingest": frozenset({Permission.WRITE_TRACKER}),
}
"""The permissions of each token role (`Principal.role`)."""

GRANTS: Mapping[Permission, Grant] = {
    Permission.READ_FIGURES: Grant("a `viewer` token", "this endpoint needs a viewer token"),
    Permission.READ_PUPILS: Grant(
        "a `viewer` token with `see_pupils`", "this token may not see pupil-level data (see_pupils)"
    ),
    Permission.WRITE_TRACKER: Grant("an `ingest` token", "this endpoint needs an ingest token"),
}


def permissions_of(principal: Principal) -> frozenset[Permission]:
    """Everything `principal` may do: its role's permissions, and pupil lists with `see_pupils`."""
    granted = ROLE_PERMISSIONS.get(principal.role, frozenset())
    return granted | {Permission.READ_PUPILS} if principal.see_pupils else granted


# -- the principal lookup ---------------------------------------------------------------------------

PrincipalLookup = Callable[[str], Principal | None]
"""Who a presented bearer credential speaks for (None: nobody)."""


def lookup_token(tokens: Mapping[str, Principal], presented: str) -> Principal | None:
    """Constant-time comparison against every configured token."""
    found: Principal | None = None
    for token, principal in tokens.items():
        if hmac.compare_digest(token.encode(), presented.encode()):
            found = principal
    return found


def token_lookup(tokens: Mapping[str, Principal]) -> PrincipalLookup:
    """The lookup of today's bearer tokens (`TIDEMARK_TOKENS`)."""
    return functools.partial(lookup_token, tokens)


# -- the check --------------------------------------------------------------------------------------


def _identify(lookup: PrincipalLookup, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    principal = lookup(credentials.credentials)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown bearer token", headers={"WWW-Authenticate": "Bearer"})
    return principal


async def authenticate(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, through the app's principal lookup (`app.state.principals`); 401 when unknown."""
    lookup: PrincipalLookup = request.app.state.principals
    return _identify(lookup, credentials)


Authenticated = Annotated[Principal, Depends(authenticate)]


def authorize(principal: Principal, permission: Permission) -> Principal:
    """The one permission check: 403 unless `principal` holds `permission`."""
    if permission not in permissions_of(principal):
        raise HTTPException(status.HTTP_403_FORBIDDEN, GRANTS[permission].refusal)
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
    """One line for an operation's description, e.g. "Permission: `figures:read` (a `viewer` token)."."""
    always = [r for r in requirements if r.when is None]
    sometimes = [r for r in requirements if r.when is not None]
    parts = [f"`{r.permission.value}` ({GRANTS[r.permission].holders})" for r in always]
    line = f"**Permission:** {', '.join(parts) or 'none'}."
    for r in sometimes:
        line += f" With {r.when}, also `{r.permission.value}` ({GRANTS[r.permission].holders})."
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
    forbidden = f"The token lacks {missing}"
    own = responses.get(403, {}).get("description")
    return {
        **responses,
        401: refusal("No bearer token, or one that is not known (`WWW-Authenticate: Bearer`)"),
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
