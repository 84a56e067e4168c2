"""Bearer-token authentication for the HTTP services: every request is scoped to one Trust."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from tidemark_runtime.settings import Principal

_bearer = HTTPBearer(auto_error=False, description="A token from TIDEMARK_TOKENS")


def lookup_token(tokens: Mapping[str, Principal], presented: str) -> Principal | None:
    """Constant-time comparison against every configured token."""
    found: Principal | None = None
    for token, principal in tokens.items():
        if hmac.compare_digest(token.encode(), presented.encode()):
            found = principal
    return found


def principal_dependency(
    tokens: Callable[[], Mapping[str, Principal]], role: str
) -> Callable[..., Principal]:
    """A FastAPI dependency that admits only tokens of `role` and returns their Principal."""

    def authenticate(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = lookup_token(tokens(), credentials.credentials)
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "unknown bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        if principal.role != role:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this endpoint needs a {role} token")
        return principal

    return authenticate



def check_secret(credentials: HTTPAuthorizationCredentials | None, expected: SecretStr | None, what: str) -> None:
    """Admit only the bearer of one shared secret (a service's, not a person's); with no secret
    configured, nobody."""
    if credentials is None or expected is None or not hmac.compare_digest(
        expected.get_secret_value().encode(), credentials.credentials.encode()
    ):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"this endpoint needs the {what}",
                            headers={"WWW-Authenticate": "Bearer"})


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
