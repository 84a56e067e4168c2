"""`tidemark-ingest`: serve the ingest API (and its outbox relay) with uvicorn, or migrate its store
(both built by `bootstrap`).

    tidemark-ingest            serve (the default); refuses a store whose schema is not at head
    tidemark-ingest migrate    bring the SQL store (DATABASE_URL) to the latest schema: the
                               prestart step of every deployment; does nothing when at head
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from tidemark_ingest.bootstrap import migrate
from tidemark_ingest.entrypoints.app import create_app
from tidemark_ingest.migrations import head_revision
from tidemark_ingest.settings import IngestSettings
from tidemark_runtime.serve import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark-ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("migrate", help="bring the SQL store to the latest schema (safe to repeat)")
    args = parser.parse_args(argv)
    settings = IngestSettings()
    if args.command == "migrate":
        logging.basicConfig(level=settings.log_level, format="%(message)s")  # alembic names each migration run
        before, head = asyncio.run(migrate(settings)), head_revision()
        print(f"SQL store at schema revision {head}" + ("" if before == head else f" (was {before or 'empty'})"))
        return 0
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
