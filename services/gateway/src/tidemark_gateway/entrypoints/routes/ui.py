"""GET /: the web UI, one static page with its script and style under /static/ (the page's strict
Content-Security-Policy admits nothing inline and nothing from elsewhere). Serving them needs no
credentials: the page signs in (POST /v1/auth/login) and then calls the API with its session cookie.

Caching: the page names each asset with its version (`/static/app.js?v=<hash of its content>`), and
an asset asked for by its current version is cached for a year (`immutable`): a deploy that changes
an asset changes its name in the page, so browsers fetch the new one. The page itself, and an asset
asked for without its current version, are revalidated on every load (`no-cache`) against their
ETag, which answers 304 with no body while nothing changed. (Compression is the app's, `GZip`,
except for the assets: each is gzipped once per process, at level 9, and that copy is served to every
client that accepts gzip; the app's middleware passes an answer already encoded as it is.)

The chart library is plotly.js, the bundle the `plotly` Python package ships
(`plotly/package_data/plotly.min.js`): served from here like our own assets, nothing from a CDN.
The page loads it after the figures are drawn (app.js), so its size never delays the first paint."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path as FilePath
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

AssetName = Literal["app.js", "accounts.js", "entry.js", "imports.js", "app.css", "plotly.min.js"]
ASSETS: dict[AssetName, str] = {"app.js": "text/javascript; charset=utf-8",
                                "accounts.js": "text/javascript; charset=utf-8",
                                "entry.js": "text/javascript; charset=utf-8",
                                "imports.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8",
                                "plotly.min.js": "text/javascript; charset=utf-8"}
CHART_LIBRARY: AssetName = "plotly.min.js"
"""Not ours: read from the installed `plotly` package (see `chart_library_path`)."""
GZIP_LEVEL = 9
"""Once per process and asset, so the smallest: plotly.js goes as about 1.5 MB instead of 4.8 MB."""

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


def chart_library_path() -> FilePath:
    """plotly.min.js in the installed `plotly` package, found without importing plotly (the gateway
    never runs its Python side)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the `plotly` package is not installed: the gateway serves its plotly.min.js")
    return FilePath(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


@cache
def static_text(name: str) -> str:
    """Read once per process: restart the gateway to serve a changed page."""
    if name == CHART_LIBRARY:
        return chart_library_path().read_text(encoding="utf-8")
    return files("tidemark_gateway").joinpath(f"static/{name}").read_text(encoding="utf-8")


def versioned(body: str, media_type: str) -> Static:
    data = body.encode()
    return Static(data, media_type, hashlib.sha256(data).hexdigest()[:16])


@cache
def asset(name: AssetName) -> Static:
    return versioned(static_text(name), ASSETS[name])


@cache
def gzipped(name: AssetName) -> bytes:
    """The asset gzipped, once per process (mtime 0: the same bytes every time)."""
    return gzip.compress(asset(name).body, compresslevel=GZIP_LEVEL, mtime=0)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """The app's middleware's own test (Starlette's GZipMiddleware), so that both agree."""
    return "gzip" in (accept_encoding or "")


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


def answer(static: Static, cache_control: str, if_none_match: str | None, body: bytes | None = None,
           encoding: str | None = None) -> Response:
    headers = {"Cache-Control": cache_control, "ETag": static.etag}
    if encoding is not None:
        headers |= {"Content-Encoding": encoding, "Vary": "Accept-Encoding"}
    if matches(if_none_match, static.etag):
        headers.pop("Content-Encoding", None)
        return Response(status_code=304, headers=headers)
    return Response(static.body if body is None else body, media_type=static.media_type, headers=headers)


IfNoneMatch = Annotated[str | None, Header()]
AcceptEncoding = Annotated[str | None, Header()]


@router.get("/")
async def index(if_none_match: IfNoneMatch = None) -> Response:
    return answer(page(), REVALIDATE, if_none_match)


@router.get("/static/{name}")
async def static_asset(
    name: Annotated[AssetName, Path()],
    v: Annotated[str | None, Query(description="The asset's version, as the page names it")] = None,
    if_none_match: IfNoneMatch = None,
    accept_encoding: AcceptEncoding = None,
) -> Response:
    found = asset(name)
    cache_control = IMMUTABLE if v == found.version else REVALIDATE
    if accepts_gzip(accept_encoding):
        # The first time, off the event loop: plotly.js takes about a second to compress.
        return answer(found, cache_control, if_none_match, await anyio.to_thread.run_sync(gzipped, name), "gzip")
    return answer(found, cache_control, if_none_match)
