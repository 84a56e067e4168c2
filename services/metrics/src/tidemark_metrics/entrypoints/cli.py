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

from redis.asyncio import Redis

from tidemark_ingest.adapters import replay
from tidemark_ingest.adapters.database import create_engine
from tidemark_metrics.adapters.redis_store import AggregateStore
from tidemark_metrics.entrypoints.app import create_app
from tidemark_metrics.rebuild import RebuildFailed, rebuild_trust
from tidemark_metrics.reconcile import reconcile, trusts
from tidemark_metrics.settings import MetricsSettings
from tidemark_runtime.serve import serve
from tidemark_schemas.aggregates import Keyspace


async def _reconcile(settings: MetricsSettings, trust_ids: list[str]) -> int:
    redis = Redis.from_url(settings.redis_url)
    try:
        status = 0
        for trust_id in trust_ids or await trusts(redis, settings.redis_prefix):
            keys = Keyspace(settings.redis_prefix, trust_id)
            live = keys.at(_text(await redis.get(keys.generation_key)))
            report = await reconcile(redis, live)
            verdict = "consistent" if report.consistent else f"{len(report.mismatches)} counters differ"
            print(f"{trust_id}: {report.pupils} pupils, {report.counters} counters: {verdict}")
            for mismatch in report.mismatches[:50]:
                print(f"  {mismatch.key} [{mismatch.field}] stored {mismatch.stored}, expected {mismatch.expected}")
            status = status or (0 if report.consistent else 1)
        return status
    finally:
        await redis.aclose()


async def _rebuild(settings: MetricsSettings, trust_ids: list[str], keep_previous: bool, grace: float) -> int:
    engine = create_engine(settings.database_url, writer=False)
    redis = Redis.from_url(settings.redis_url)
    try:
        store = AggregateStore(redis, settings.redis_prefix)
        for trust_id in trust_ids or await replay.trust_ids(engine):
            keys = Keyspace(settings.redis_prefix, trust_id)
            facts = replay.fact_events(engine, trust_id)
            report = await rebuild_trust(redis, store, keys, facts, grace_seconds=grace, keep_previous=keep_previous)  # type: ignore[arg-type]
            print(f"{trust_id}: generation {report.previous or '(first)'} -> {report.generation}: {report.events} facts, "
                  f"{report.pupils} pupils, {report.counters} counters, consistent, in {report.seconds:.1f} s; "
                  f"{len(report.differences_from_previous)} counters differed from the previous generation")
            for mismatch in report.differences_from_previous[:50]:
                print(f"  {mismatch.key} [{mismatch.field}] was {mismatch.stored}, rebuilt {mismatch.expected}")
        return 0
    except RebuildFailed as error:
        print(f"rebuild failed: {error}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark-metrics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    check = commands.add_parser("reconcile", help="check counters against per-pupil states")
    check.add_argument("--trust-id", action="append", default=[], help="a Trust (default: every Trust found)")
    again = commands.add_parser("rebuild", help="recompute the aggregates from the SQL store, then switch")
    again.add_argument("--trust-id", action="append", default=[], help="a Trust (default: every Trust in the store)")
    again.add_argument("--keep-previous", action="store_true", help="do not delete the previous generation")
    again.add_argument("--grace-seconds", type=float, default=5.0,
                       help="wait this long after the switch before deleting the previous generation (default 5)")
    args = parser.parse_args(argv)
    settings = MetricsSettings()
    if args.command == "reconcile":
        return asyncio.run(_reconcile(settings, args.trust_id))
    if args.command == "rebuild":
        return asyncio.run(_rebuild(settings, args.trust_id, args.keep_previous, args.grace_seconds))
    serve(create_app(settings), settings)
    return 0


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


if __name__ == "__main__":
    sys.exit(main())
