"""`tidemark-gateway`: serve the gateway API, web UI and live updates with uvicorn (the app's
lifespan builds the gateway with `bootstrap`)."""

from __future__ import annotations

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.settings import GatewaySettings
from tidemark_runtime.serve import serve


def main() -> None:
    settings = GatewaySettings()
    # uvloop and httptools (the gateway's dependencies): about a fifth less CPU per request than
    # asyncio's loop and h11 (bench/gateway.py).
    serve(create_app(settings), settings, loop="auto", http="auto")


if __name__ == "__main__":
    main()
