"""Single sign-on with OpenID Connect (authorization code flow with PKCE), through authlib: the
authorization request, PKCE and the ID token's claims checks are authlib's (`prepare_grant_uri`,
`create_s256_code_challenge`, `CodeIDToken`), the ID token's signature is checked against the
issuer's published keys with joserfc (authlib's JOSE library). Microsoft Entra ID and Google
Workspace are issuers like any other: set OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET.

A sign-in never creates a person: the issuer's subject is linked to the Tidemark person whose
(verified) email it names, the first time; an administrator creates the person first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

DISCOVERY_TTL_SECONDS = 3600.0
SIGNING_ALGORITHMS = ("RS256", "ES256", "PS256")


class SsoRefused(Exception):
    """The issuer's answer was not a valid sign-in (the message says why, for the log)."""


@dataclass(frozen=True, slots=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class Pending:
    """What the browser keeps (a short-lived cookie) between the redirect and the callback."""

    state: str
    nonce: str
    verifier: str

    def encode(self) -> str:
        return f"{self.state}.{self.nonce}.{self.verifier}"

    @classmethod
    def decode(cls, value: str) -> Pending | None:
        parts = value.split(".")
        return cls(*parts) if len(parts) == 3 and all(parts) else None


@dataclass(frozen=True, slots=True)
class SignedOn:
    subject: str
    """`<issuer>#<sub>`: unique across issuers."""
    email: str | None
    """The email, only when the issuer says it is verified."""


class OidcClient:
    def __init__(self, settings: OidcSettings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient(timeout=10.0)
        self._metadata: tuple[float, dict[str, Any], KeySet] | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _discover(self) -> tuple[dict[str, Any], KeySet]:
        if self._metadata is None or time.monotonic() - self._metadata[0] > DISCOVERY_TTL_SECONDS:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            metadata = (await self.http.get(url)).raise_for_status().json()
            if metadata.get("issuer") != self.settings.issuer:
                raise SsoRefused(f"the discovery document names issuer {metadata.get('issuer')!r}")
            keys = KeySet.import_key_set(
                (await self.http.get(metadata["jwks_uri"])).raise_for_status().json()
            )
            self._metadata = (time.monotonic(), metadata, keys)
        return self._metadata[1], self._metadata[2]

    async def start(self, redirect_uri: str) -> tuple[str, Pending]:
        """The issuer's authorization URL to send the browser to, and what to keep until it returns."""
        metadata, _ = await self._discover()
        pending = Pending(generate_token(32), generate_token(32), generate_token(64))
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            self.settings.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope="openid email profile",
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.verifier),
            code_challenge_method="S256",
        )
        return url, pending

    async def finish(self, redirect_uri: str, code: str, state: str, pending: Pending) -> SignedOn:
        """Exchange the code, check the ID token (signature, issuer, audience, expiry, nonce)."""
        if state != pending.state:
            raise SsoRefused("the state does not match this browser's sign-in")
        metadata, keys = await self._discover()
        answer = await self.http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pending.verifier,
            },
            auth=(self.settings.client_id, self.settings.client_secret),
        )
        if answer.status_code != 200 or "id_token" not in answer.json():
            raise SsoRefused(f"the token endpoint answered {answer.status_code}")
        try:
            token = jwt.decode(answer.json()["id_token"], keys, algorithms=SIGNING_ALGORITHMS)
        except (JoseError, ValueError) as error:
            raise SsoRefused(f"the ID token's signature does not verify ({error})") from None
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": self.settings.issuer},
                "aud": {"essential": True, "value": self.settings.client_id},
            },
            params={"nonce": pending.nonce},
        )
        try:
            claims.validate(leeway=60)
        except Exception as error:  # authlib's claim errors share no base class worth naming here
            raise SsoRefused(f"the ID token was refused ({error})") from None
        email = claims.get("email") if claims.get("email_verified") is True else None
        return SignedOn(f"{self.settings.issuer}#{claims['sub']}", email)
