"""`tidemark-metrics`: run the metrics consumer (and its /healthz) under uvicorn, or operate on its state.

    tidemark-metrics                      serve (the default)
    tidemark-metrics reconcile [--trust-id T ...]
                                          check every counter against the per-pupil states;
                                          exit status 1 if any differs
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from redis.asyncio import Redis

from tidemark_metrics.entrypoints.app import create_app
from tidemark_metrics.reconcile import reconcile, trusts
from tidemark_metrics.settings import MetricsSettings
from tidemark_runtime.serve import serve
from tidemark_schemas.aggregates import Keyspace


async def _reconcile(settings: MetricsSettings, trust_ids: list[str]) -> int:
    redis = Redis.from_url(settings.redis_url)
    try:
        status = 0
        for trust_id in trust_ids or await trusts(redis, settings.redis_prefix):
            report = await reconcile(redis, Keyspace(settings.redis_prefix, trust_id))
            verdict = "consistent" if report.consistent else f"{len(report.mismatches)} counters differ"
            print(f"{trust_id}: {report.pupils} pupils, {report.counters} counters: {verdict}")
            for mismatch in report.mismatches[:50]:
                print(f"  {mismatch.key} [{mismatch.field}] stored {mismatch.stored}, expected {mismatch.expected}")
            status = status or (0 if report.consistent else 1)
        return status
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark-metrics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    check = commands.add_parser("reconcile", help="check counters against per-pupil states")
    check.add_argument("--trust-id", action="append", default=[], help="a Trust (default: every Trust found)")
    args = parser.parse_args(argv)
    settings = MetricsSettings()
    if args.command == "reconcile":
        return asyncio.run(_reconcile(settings, args.trust_id))
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
