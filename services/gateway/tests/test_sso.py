"""Single sign-on with OpenID Connect against a small OIDC provider started by this test on loopback
(discovery, authorization with PKCE, token endpoint, published keys, RS256-signed ID tokens): the
gateway signs in the person the issuer names, and refuses a forged or replayed answer."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.testing import TRUST, gateway_settings
from tidemark_identity.service import Identity
from tidemark_runtime.embedded import LOOPBACK, free_port

CLIENT_ID, CLIENT_SECRET = "tidemark", "s3cret-of-the-client"


@dataclass
class Provider:
    """The test's OpenID provider: whoever `user` names signs in, no questions asked."""

    issuer: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    )
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    audience: str = CLIENT_ID

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, str]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return KeySet([self.key]).as_dict(private=False)

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            asked = request.query_params
            assert asked["client_id"] == CLIENT_ID and asked["code_challenge_method"] == "S256"
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "challenge": asked["code_challenge"],
                "nonce": asked["nonce"],
                "redirect_uri": asked["redirect_uri"],
            }
            return RedirectResponse(
                f"{asked['redirect_uri']}?{urlencode({'code': code, 'state': asked['state']})}"
            )

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            issued = self.codes.pop(form.get("code", ""), None)
            credentials = httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET)._auth_header
            if (
                issued is None
                or request.headers.get("authorization") != credentials
                or create_s256_code_challenge(form.get("code_verifier", "")) != issued["challenge"]
                or form.get("redirect_uri") != issued["redirect_uri"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "aud": self.audience,
                "iat": now,
                "exp": now + 300,
                "nonce": issued["nonce"],
                **self.user,
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
            return JSONResponse({"access_token": "unused", "token_type": "Bearer", "id_token": id_token})

        return app


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning", timeout_graceful_shutdown=1)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn stopped before it started"
        await asyncio.sleep(0.01)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Sites:
    gateway: str
    provider: Provider


@pytest.fixture
async def sites(redis_url: str, redis: Redis, prefix: str, database_url: str) -> AsyncIterator[Sites]:
    provider = Provider()
    port = free_port()
    provider.issuer = f"http://{LOOPBACK}:{port}"
    server = uvicorn.Server(uvicorn.Config(provider.app(), host=LOOPBACK, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    engine = create_async_engine(database_url)
    identity = Identity.on(engine)
    await identity.create_person(TRUST, "test", "head@oak.org", "Hana Head", "school_leader", ["S1"])
    await engine.dispose()
    settings = gateway_settings(
        redis_url,
        prefix,
        database_url=database_url,
        tidemark_tokens={},
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    try:
        async with serving(create_app(settings)) as gateway:
            yield Sites(gateway, provider)
    finally:
        server.should_exit = True
        await task


async def sign_on(client: httpx.AsyncClient, sites: Sites, *, tamper_state: bool = False) -> httpx.Response:
    """The browser's round trip: the gateway, the issuer, back to the gateway's callback."""
    to_issuer = await client.get(f"{sites.gateway}/v1/auth/oidc/start")
    assert to_issuer.status_code == 303 and to_issuer.headers["location"].startswith(sites.provider.issuer)
    back = await client.get(to_issuer.headers["location"])
    callback = back.headers["location"]
    if tamper_state:
        parts = urlsplit(callback)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": "forged"}
        callback = parts._replace(query=urlencode(query)).geturl()
    return await client.get(callback)


async def test_the_person_the_issuer_names_is_signed_in_and_linked_to_its_subject(sites: Sites) -> None:
    sites.provider.user = {"sub": "entra-123", "email": "Head@Oak.org", "email_verified": True}
    async with httpx.AsyncClient(timeout=10.0) as browser:
        offered = (await browser.get(f"{sites.gateway}/v1/auth/oidc")).json()
        answer = await sign_on(browser, sites)
        me = await browser.get(f"{sites.gateway}/v1/auth/me")
    sites.provider.user = {"sub": "entra-123", "email": "renamed@oak.org", "email_verified": True}
    async with httpx.AsyncClient(timeout=10.0) as again:
        linked = await sign_on(again, sites)

    assert offered == {"enabled": True, "label": "single sign-on"}
    assert (answer.status_code, answer.headers["location"]) == (303, "/#/")
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    assert me.status_code == 200 and me.json()["user"]["email"] == "head@oak.org"
    assert me.json()["permissions"] == [
        "figures:read",
        "figures:small-groups",
        "pupils:read",
    ]  # no temporary password to change first
    assert linked.headers["location"] == "/#/"  # the subject is linked: the email no longer matters


@pytest.mark.parametrize(
    "user",
    [
        {"sub": "x-1", "email": "nobody@oak.org", "email_verified": True},
        {"sub": "x-2", "email": "head@oak.org", "email_verified": False},
        {"sub": "x-3"},
    ],
)
async def test_nobody_is_signed_in_without_a_tidemark_account_or_a_verified_email(sites: Sites, user) -> None:
    sites.provider.user = user
    async with httpx.AsyncClient(timeout=10.0) as browser:
        answer = await sign_on(browser, sites)
        me = await browser.get(f"{sites.gateway}/v1/auth/me")
    assert (answer.status_code, answer.headers["location"], me.status_code) == (303, "/?sso=failed", 401)


async def test_a_forged_state_or_a_token_for_another_client_is_refused(sites: Sites) -> None:
    sites.provider.user = {"sub": "entra-123", "email": "head@oak.org", "email_verified": True}
    async with httpx.AsyncClient(timeout=10.0) as browser:
        forged = await sign_on(browser, sites, tamper_state=True)
    sites.provider.audience = "another-client"
    async with httpx.AsyncClient(timeout=10.0) as browser:
        other = await sign_on(browser, sites)
    assert forged.headers["location"] == other.headers["location"] == "/?sso=failed"
