"""GET /: the web UI, one static page. It reads its token from the URL fragment, which never
reaches a server, so serving it needs none."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


@cache
def index_html() -> str:
    """Read once per process: restart the gateway to serve a changed page."""
    return files("tidemark_gateway").joinpath("static/index.html").read_text(encoding="utf-8")


@router.get("/")
async def index() -> HTMLResponse:
    return HTMLResponse(index_html(), headers={"Cache-Control": "no-cache"})
