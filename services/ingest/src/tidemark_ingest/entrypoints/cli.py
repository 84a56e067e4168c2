"""`tidemark-ingest`: serve the ingest API (and its outbox relay) with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from tidemark_ingest.entrypoints.app import create_app
from tidemark_ingest.settings import IngestSettings


def main() -> None:
    settings = IngestSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower())


if __name__ == "__main__":
    main()
