"""`tidemark-statutory`: run the statutory consumer (and its /healthz) under uvicorn, or operate on
its projection.

    tidemark-statutory                    serve (the default)
    tidemark-statutory reconcile [--trust-id T ...]
                                          check every counter against the per-pupil states;
                                          exit status 1 if any differs
    tidemark-statutory rebuild [--trust-id T ...] [--keep-previous] [--grace-seconds S]
                                          recompute the projection from the SQL store
                                          (DATABASE_URL) into a fresh generation, check it,
                                          switch readers to it, drop the previous one;
                                          safe while the consumers run
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tidemark_ingest.adapters.replay import Replay
from tidemark_runtime.rebuild import add_operation_commands, run_operation
from tidemark_runtime.serve import serve
from tidemark_schemas.aggregates import statutory_keyspace
from tidemark_statutory.adapters.redis_store import StatutoryStore
from tidemark_statutory.entrypoints.app import create_app
from tidemark_statutory.reconcile import StatutoryProjection, trusts
from tidemark_statutory.settings import StatutorySettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark-statutory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_operation_commands(parser.add_subparsers(dest="command"), "statutory projection")
    args = parser.parse_args(argv)
    settings = StatutorySettings()
    if args.command is not None:
        return asyncio.run(run_operation(
            args, settings.redis_url,
            projection_of=lambda redis: StatutoryProjection(StatutoryStore(redis, settings.redis_prefix)),
            keyspace_of=lambda trust_id: statutory_keyspace(settings.redis_prefix, trust_id),
            known_trusts=lambda redis: trusts(redis, settings.redis_prefix),
            open_facts=lambda: Replay(settings.database_url),
        ))
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
