"""GET /: the web UI, one static page with its script and style under /static/ (the page's strict
Content-Security-Policy admits nothing inline and nothing from elsewhere). Serving them needs no
credentials: the page signs in (POST /v1/auth/login) and then calls the API with its session cookie."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)

ASSETS = {"app.js": "text/javascript; charset=utf-8", "accounts.js": "text/javascript; charset=utf-8",
          "app.css": "text/css; charset=utf-8"}


@cache
def static_text(name: str) -> str:
    """Read once per process: restart the gateway to serve a changed page."""
    return files("tidemark_gateway").joinpath(f"static/{name}").read_text(encoding="utf-8")


def index_html() -> str:
    return static_text("index.html")


@router.get("/")
async def index() -> HTMLResponse:
    return HTMLResponse(index_html(), headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}")
async def asset(name: Annotated[Literal["app.js", "accounts.js", "app.css"], Path()]) -> Response:
    return Response(static_text(name), media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})
