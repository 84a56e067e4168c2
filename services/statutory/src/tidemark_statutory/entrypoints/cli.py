"""`tidemark-statutory`: run the statutory consumer (and its /healthz) under uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from tidemark_statutory.entrypoints.app import create_app
from tidemark_statutory.settings import StatutorySettings


def main() -> None:
    settings = StatutorySettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower())


if __name__ == "__main__":
    main()
