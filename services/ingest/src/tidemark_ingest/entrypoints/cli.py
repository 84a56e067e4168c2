"""`tidemark-ingest`: serve the ingest API (and its outbox relay) with uvicorn."""

from __future__ import annotations

from tidemark_ingest.entrypoints.app import create_app
from tidemark_ingest.settings import IngestSettings
from tidemark_runtime.serve import serve


def main() -> None:
    settings = IngestSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
