"""GET /: the web UI, one static page with its script and style under /static/ (the page's strict
Content-Security-Policy admits nothing inline and nothing from elsewhere). Serving them needs no
credentials: the page signs in (POST /v1/auth/login) and then calls the API with its session cookie.

Caching: the page names each asset with its version (`/static/app.js?v=<hash of its content>`), and
an asset asked for by its current version is cached for a year (`immutable`): a deploy that changes
an asset changes its name in the page, so browsers fetch the new one. The page itself, and an asset
asked for without its current version, are revalidated on every load (`no-cache`) against their
ETag, which answers 304 with no body while nothing changed. (Compression is the app's, `GZip`.)"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

AssetName = Literal["app.js", "accounts.js", "entry.js", "imports.js", "app.css"]
ASSETS: dict[AssetName, str] = {"app.js": "text/javascript; charset=utf-8",
                                "accounts.js": "text/javascript; charset=utf-8",
                                "entry.js": "text/javascript; charset=utf-8",
                                "imports.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}

REVALIDATE = "no-cache"
"""Kept, but checked with the server (ETag) before each use."""
IMMUTABLE = "public, max-age=31536000, immutable"
"""A versioned asset: its content never changes under that name."""


@dataclass(frozen=True, slots=True)
class Static:
    body: bytes
    media_type: str
    version: str
    """The first 16 hex digits of the SHA-256 of the body (what the page puts in `?v=`)."""

    @property
    def etag(self) -> str:
        """Weak: the gzipped representation carries the same tag as the plain one."""
        return f'W/"{self.version}"'


@cache
def static_text(name: str) -> str:
    """Read once per process: restart the gateway to serve a changed page."""
    return files("tidemark_gateway").joinpath(f"static/{name}").read_text(encoding="utf-8")


def versioned(body: str, media_type: str) -> Static:
    data = body.encode()
    return Static(data, media_type, hashlib.sha256(data).hexdigest()[:16])


@cache
def asset(name: AssetName) -> Static:
    return versioned(static_text(name), ASSETS[name])


@cache
def page() -> Static:
    """index.html, with each asset's reference carrying the asset's version."""
    html = static_text("index.html")
    for name in ASSETS:
        html = html.replace(f'"/static/{name}"', f'"/static/{name}?v={asset(name).version}"')
    return versioned(html, "text/html; charset=utf-8")


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names this ETag (weak comparison, as RFC 9110 has it for GET)."""
    if if_none_match is None:
        return False
    opaque = etag.removeprefix("W/")
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or opaque in tags


def answer(static: Static, cache_control: str, if_none_match: str | None) -> Response:
    headers = {"Cache-Control": cache_control, "ETag": static.etag}
    if matches(if_none_match, static.etag):
        return Response(status_code=304, headers=headers)
    return Response(static.body, media_type=static.media_type, headers=headers)


IfNoneMatch = Annotated[str | None, Header()]


@router.get("/")
async def index(if_none_match: IfNoneMatch = None) -> Response:
    return answer(page(), REVALIDATE, if_none_match)


@router.get("/static/{name}")
async def static_asset(
    name: Annotated[AssetName, Path()],
    v: Annotated[str | None, Query(description="The asset's version, as the page names it")] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    found = asset(name)
    return answer(found, IMMUTABLE if v == found.version else REVALIDATE, if_none_match)
