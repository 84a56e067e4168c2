"""The principal lookup every service installs (`app.state.principals`): a bearer API key or the
web UI's session cookie, re-read from the SQL store on every request, so that a disabled person or
a revoked key is refused on the very next one; and the `TIDEMARK_TOKENS` fallback (development and
tests), consulted for a bearer credential that is not an API key.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from fastapi import HTTPException, status

from tidemark_identity.domain import roles, secrets
from tidemark_identity.service import Identity
from tidemark_runtime.auth import CSRF_HEADER, Presented
from tidemark_runtime.principal import Principal
from tidemark_runtime.settings import TokenGrant


def token_principals(tokens: Mapping[str, TokenGrant]) -> dict[str, Principal]:
    return {
        token: roles.token_principal(grant.trust_id, grant.role, grant.schools, grant.see_pupils)
        for token, grant in tokens.items()
    }


class Lookup:
    """Who presented credentials speak for: an API key, else a configured token (bearer); a session
    (cookie), whose state-changing requests must carry its CSRF token."""

    def __init__(self, identity: Identity | None, tokens: Mapping[str, TokenGrant] | None = None) -> None:
        self.identity = identity
        self.tokens = token_principals(tokens or {})

    async def __call__(self, presented: Presented, /) -> Principal | None:
        if presented.bearer is not None:
            if self.identity is not None and presented.bearer.startswith(f"{secrets.KEY_PREFIX}_"):
                return await self.identity.key_principal(presented.bearer)
            return self._token(presented.bearer)
        if presented.session is None or self.identity is None:
            return None
        found = await self.identity.session_principal(presented.session)
        if (
            found is not None
            and presented.state_changing
            and not secrets.csrf_matches(presented.session, presented.csrf)
        ):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER} header (CSRF protection)"
            )
        return found

    def _token(self, presented: str) -> Principal | None:
        """Constant-time comparison against every configured token."""
        found: Principal | None = None
        for token, principal in self.tokens.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                found = principal
        return found
