"""`tidemark-statutory`: run the statutory consumer (and its /healthz) under uvicorn."""

from __future__ import annotations

from tidemark_runtime.serve import serve
from tidemark_statutory.entrypoints.app import create_app
from tidemark_statutory.settings import StatutorySettings


def main() -> None:
    settings = StatutorySettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
