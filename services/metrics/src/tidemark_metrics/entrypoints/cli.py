"""`tidemark-metrics`: run the metrics consumer (and its /healthz) under uvicorn, or operate on its state.

    tidemark-metrics                      serve (the default)
    tidemark-metrics reconcile [--trust-id T ...]
                                          check every counter against the per-pupil states;
                                          exit status 1 if any differs
    tidemark-metrics rebuild [--trust-id T ...] [--keep-previous] [--grace-seconds S]
                                          recompute the aggregates from the SQL store
                                          (DATABASE_URL) into a fresh generation, check it,
                                          switch readers to it, drop the previous one;
                                          safe while the consumers run
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tidemark_ingest.adapters.replay import Replay
from tidemark_metrics.adapters.redis_store import AggregateStore
from tidemark_metrics.entrypoints.app import create_app
from tidemark_metrics.reconcile import MetricsProjection, trusts
from tidemark_metrics.settings import MetricsSettings
from tidemark_runtime.rebuild import add_operation_commands, run_operation
from tidemark_runtime.serve import serve
from tidemark_schemas.aggregates import Keyspace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark-metrics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_operation_commands(parser.add_subparsers(dest="command"), "aggregates")
    args = parser.parse_args(argv)
    settings = MetricsSettings()
    if args.command is not None:
        return asyncio.run(run_operation(
            args, settings.redis_url,
            projection_of=lambda redis: MetricsProjection(AggregateStore(redis, settings.redis_prefix)),
            keyspace_of=lambda trust_id: Keyspace(settings.redis_prefix, trust_id),
            known_trusts=lambda redis: trusts(redis, settings.redis_prefix),
            open_facts=lambda: Replay(settings.database_url),
        ))
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
